/**
 * The compositor's rendered output in the browser. The server sends the layout (view data) but
 * no frames to browsers yet, so the editor draws layer boxes over an empty stage. A transport
 * (WebCodecs over a socket, WebRTC, …) plugs in here: `attach` mounts the live picture into the
 * stage element and returns a function that removes it.
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
