/**
 * The compositor's rendered output in the browser, under the layer boxes. The studio installs
 * the PNG polling transport (png-preview-source.ts) at start; another transport (WebCodecs over
 * a socket, WebRTC, …) plugs in the same way: `attach` mounts the live picture into the stage
 * element and returns a function that removes it.
 */
export interface CompositorPreviewSource {
  attach(session: string, node: string, stage: HTMLElement): () => void;
}

let source: CompositorPreviewSource | undefined;

/** Install the preview transport (none by default). */
export function setCompositorPreviewSource(s: CompositorPreviewSource | undefined): void {
  source = s;
}

/** The installed preview transport, if any. */
export function compositorPreviewSource(): CompositorPreviewSource | undefined {
  return source;
}
