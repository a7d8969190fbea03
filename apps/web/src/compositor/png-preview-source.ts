import { readToken } from '../api/token';
import type { CompositorPreviewSource } from './preview-source';

/** Pause between the end of one preview fetch and the next: at most ~5 frames per second. */
export const PREVIEW_POLL_MS = 200;
/** Wait after a failed fetch before trying again. */
export const PREVIEW_RETRY_MS = 1_000;

/**
 * The live picture as a stream of small PNGs from the server's preview endpoint
 * (`GET /api/v1/sessions/:id/nodes/:node/preview`), drawn in an `<img>` under the layer boxes.
 * One request at a time, the next only after the previous frame has been decoded, so a slow
 * network or a busy page lowers the rate instead of piling up requests; nothing is fetched
 * while the tab is hidden.
 */
export function createPngPreviewSource(): CompositorPreviewSource {
  return {
    attach(session, node, stage) {
      const img = document.createElement('img');
      img.className = 'stage-frame';
      img.alt = '';
      img.setAttribute('data-testid', 'compositor-live-frame');
      stage.prepend(img);
      const url = `/api/v1/sessions/${encodeURIComponent(session)}/nodes/${encodeURIComponent(node)}/preview`;
      let stopped = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      let shown: string | undefined;
      const schedule = (ms: number) => {
        if (!stopped) timer = setTimeout(() => void tick(), ms);
      };
      const tick = async () => {
        if (stopped) return;
        if (document.hidden) return schedule(PREVIEW_RETRY_MS);
        try {
          const headers = new Headers();
          const token = readToken();
          if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
          const res = await fetch(url, { headers, cache: 'no-store' });
          if (res.status === 204) return schedule(PREVIEW_RETRY_MS);
          if (!res.ok) return schedule(PREVIEW_RETRY_MS);
          const objectUrl = URL.createObjectURL(await res.blob());
          if (stopped) return URL.revokeObjectURL(objectUrl);
          img.src = objectUrl;
          await img.decode().catch(() => undefined);
          if (shown) URL.revokeObjectURL(shown);
          shown = objectUrl;
          img.dataset.pts = res.headers.get('x-frame-pts-us') ?? '';
          img.classList.add('live');
          schedule(PREVIEW_POLL_MS);
        } catch {
          schedule(PREVIEW_RETRY_MS);
        }
      };
      void tick();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        if (shown) URL.revokeObjectURL(shown);
        img.remove();
      };
    },
  };
}
