/**
 * Codec hosts (worker threads / child processes), the forward loop and the watchdog arrive with
 * the codecs issue. Until then this name is the package's only export, so the workspace
 * typechecks and `@patchbay/codecs` resolves for the layer rules.
 */
export const CODECS_PACKAGE = '@patchbay/codecs';
