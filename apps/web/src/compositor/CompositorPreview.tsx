import { useSession } from '../session/session-context';
import { usePipeline } from '../session/hooks';
import { layerBoxes, parseView } from './compositor-model';
import { useStage } from './use-stage';

/** The compositor's output layout (read-only), as the Monitor shows it. */
export function CompositorPreview(props: { nodeId: string }) {
  const { conn, runtime } = useSession();
  const pipeline = usePipeline(conn);
  const view = parseView(runtime.viewData[props.nodeId]?.data);
  const params = pipeline.nodes[props.nodeId]?.params ?? {};
  const width = view?.width ?? (typeof params.width === 'number' ? params.width : 1280);
  const height = view?.height ?? (typeof params.height === 'number' ? params.height : 720);
  const stage = useStage(props.nodeId);
  const scale = stage.width / width;
  return (
    <div
      ref={stage.ref}
      className="stage small"
      style={{ aspectRatio: `${width} / ${height}` }}
      data-testid={`compositor-preview-${props.nodeId}`}
    >
      {layerBoxes(params, view).map((b) => (
        <div
          key={b.pin}
          className="layer-box readonly"
          style={{
            left: b.rect.x * scale,
            top: b.rect.y * scale,
            width: b.rect.width * scale,
            height: b.rect.height * scale,
            opacity: Math.max(0.2, b.opacity),
            transform: `rotate(${b.rotation}deg)`,
          }}
          data-testid={`preview-layer-${b.pin}`}
        >
          {b.pin}
        </div>
      ))}
    </div>
  );
}
