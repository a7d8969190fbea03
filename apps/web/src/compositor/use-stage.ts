import { useEffect, useRef, useState } from 'react';
import { useSession } from '../session/session-context';
import { compositorPreviewSource } from './preview-source';

/** A stage element, its drawn width (tracked), and the preview transport mounted in it if any. */
export function useStage(nodeId: string): {
  ref: React.RefObject<HTMLDivElement | null>;
  width: number;
  hasPreview: boolean;
} {
  const { sessionId } = useSession();
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(320);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth || 320));
    ro.observe(el);
    setWidth(el.clientWidth || 320);
    const detach = compositorPreviewSource()?.attach(sessionId, nodeId, el);
    return () => {
      ro.disconnect();
      detach?.();
    };
  }, [sessionId, nodeId]);
  return { ref, width, hasPreview: compositorPreviewSource() !== undefined };
}
