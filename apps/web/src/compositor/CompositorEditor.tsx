import type { Pipeline } from '@patchbay/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { writeParams } from '../session/edits';
import { usePeers } from '../session/hooks';
import { useSession } from '../session/session-context';
import { CommitThrottle } from './commit-throttle';
import { layerBoxes, layerWrites, moveRect, parseView, resizeRect } from './compositor-model';
import type { Corner, LayerBox, LayerParams } from './compositor-model';
import { useStage } from './use-stage';

const CORNERS: readonly Corner[] = ['nw', 'ne', 'sw', 'se'];

interface Gesture {
  readonly pin: string;
  readonly startX: number;
  readonly startY: number;
  readonly box: LayerBox;
  readonly corner?: Corner;
  readonly throttle: CommitThrottle<LayerParams>;
}

/**
 * Layers of a `video::compositor` drawn over its output: drag to move, corners to resize,
 * sliders for opacity, rotation, crop zoom and z-order. Each committed step is one stamped
 * transaction (S2), at most ~10/s during a gesture plus the final value (S8); the layer under
 * the pointer ignores incoming view data until release (S7).
 */
export function CompositorEditor(props: { pipeline: Pipeline; nodeId: string | undefined }) {
  if (!props.nodeId) {
    return (
      <div className="empty" data-testid="compositor-empty">
        Select a video::compositor node to edit its layers.
      </div>
    );
  }
  return <CompositorStage pipeline={props.pipeline} nodeId={props.nodeId} />;
}

function CompositorStage(props: { pipeline: Pipeline; nodeId: string }) {
  const { conn, runtime } = useSession();
  const { nodeId } = props;
  const params = props.pipeline.nodes[nodeId]?.params ?? {};
  const entry = runtime.viewData[nodeId];
  const view = parseView(entry?.data);
  const viewBehind = entry ? conn.stamper.isStale(nodeId, entry.stamp) : false;
  const [held, setHeld] = useState<{ pin: string; layer: LayerParams } | undefined>();
  const [selected, setSelected] = useState<string | undefined>();
  const gesture = useRef<Gesture | undefined>(undefined);
  const stage = useStage(nodeId);
  const width = view?.width ?? (typeof params.width === 'number' ? params.width : 1280);
  const height = view?.height ?? (typeof params.height === 'number' ? params.height : 720);
  const scale = stage.width / width;
  const boxes = layerBoxes(params, view, held, viewBehind);
  const peers = usePeers(conn);
  const draggedBy = new Map<string, { name: string; color: string }>();
  for (const p of peers.values()) {
    if (p.user && p.dragging?.node === nodeId && p.dragging.layer)
      draggedBy.set(p.dragging.layer, { name: p.user.name, color: p.user.color });
  }
  const selectedBox = boxes.find((b) => b.pin === selected);

  const commit = useCallback(
    (pin: string, layer: LayerParams) => writeParams(conn, nodeId, layerWrites(pin, layer)),
    [conn, nodeId],
  );

  const begin = (pin: string, layer: LayerParams): CommitThrottle<LayerParams> => {
    conn.beginGesture();
    conn.setPresence('dragging', { node: nodeId, layer: pin });
    setHeld({ pin, layer });
    return new CommitThrottle((l) => commit(pin, l));
  };

  const finish = () => {
    gesture.current?.throttle.end();
    gesture.current = undefined;
    setHeld(undefined);
    conn.setPresence('dragging', null);
  };

  useEffect(() => () => conn.setPresence('dragging', null), [conn]);

  const onPointerDown = (e: React.PointerEvent, box: LayerBox, corner?: Corner) => {
    e.stopPropagation();
    e.preventDefault();
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
    setSelected(box.pin);
    gesture.current = {
      pin: box.pin,
      startX: e.clientX,
      startY: e.clientY,
      box,
      ...(corner ? { corner } : {}),
      throttle: begin(box.pin, { rect: box.rect }),
    };
  };

  const onPointerMove = (e: React.PointerEvent) => {
    const g = gesture.current;
    if (!g || scale <= 0) return;
    const dx = (e.clientX - g.startX) / scale;
    const dy = (e.clientY - g.startY) / scale;
    const rect = g.corner ? resizeRect(g.box.rect, g.corner, dx, dy) : moveRect(g.box.rect, dx, dy);
    const layer = { rect };
    setHeld({ pin: g.pin, layer });
    g.throttle.push(layer);
  };

  return (
    <div className="compositor-editor" data-testid="compositor-editor" data-node-id={nodeId}>
      <div
        ref={stage.ref}
        className="stage"
        style={{ aspectRatio: `${width} / ${height}` }}
        onPointerMove={onPointerMove}
        onPointerUp={finish}
        onPointerCancel={finish}
        data-testid="compositor-stage"
      >
        {stage.hasPreview ? null : (
          <span className="stage-note">
            layout ({width}×{height})
          </span>
        )}
        {boxes.map((b) => (
          <div
            key={b.pin}
            className={`layer-box${b.pin === selected ? ' selected' : ''}${b.held ? ' held' : ''}${b.auto ? ' auto' : ''}`}
            style={{
              left: b.rect.x * scale,
              top: b.rect.y * scale,
              width: b.rect.width * scale,
              height: b.rect.height * scale,
              opacity: Math.max(0.25, b.opacity),
              transform: `rotate(${b.rotation}deg)`,
              zIndex: 1 + boxes.indexOf(b),
            }}
            onPointerDown={(e) => onPointerDown(e, b)}
            data-testid={`layer-${b.pin}`}
            data-pin={b.pin}
            data-x={b.rect.x}
            data-y={b.rect.y}
            data-width={b.rect.width}
            data-height={b.rect.height}
            data-held={b.held ? 'true' : 'false'}
          >
            <span className="layer-label">{b.pin}</span>
            {draggedBy.has(b.pin) ? (
              <span
                className="layer-peer"
                style={{ background: draggedBy.get(b.pin)?.color }}
                data-testid={`layer-peer-${b.pin}`}
              >
                {draggedBy.get(b.pin)?.name}
              </span>
            ) : null}
            {CORNERS.map((c) => (
              <span
                key={c}
                className={`handle handle-${c}`}
                onPointerDown={(e) => onPointerDown(e, b, c)}
                data-testid={`layer-handle-${b.pin}-${c}`}
              />
            ))}
          </div>
        ))}
      </div>
      {selectedBox ? (
        <LayerControls
          key={selectedBox.pin}
          box={selectedBox}
          cropZoom={layerCropZoom(params, selectedBox.pin)}
          begin={begin}
          hold={(layer) => setHeld({ pin: selectedBox.pin, layer })}
          finish={() => {
            setHeld(undefined);
            conn.setPresence('dragging', null);
          }}
          commitNow={(layer) => {
            conn.beginGesture();
            commit(selectedBox.pin, layer);
          }}
        />
      ) : (
        <p className="muted">Click a layer to select it.</p>
      )}
    </div>
  );
}

function layerCropZoom(params: Record<string, unknown>, pin: string): number {
  const layers = params.layers as Record<string, { crop_zoom?: unknown }> | undefined;
  const z = layers?.[pin]?.crop_zoom;
  return typeof z === 'number' ? z : 1;
}

/** Sliders of the selected layer; each slide is one gesture with throttled commits (S8). */
function LayerControls(props: {
  box: LayerBox;
  cropZoom: number;
  begin: (pin: string, layer: LayerParams) => CommitThrottle<LayerParams>;
  hold: (layer: LayerParams) => void;
  finish: () => void;
  commitNow: (layer: LayerParams) => void;
}) {
  const { box } = props;
  const throttle = useRef<CommitThrottle<LayerParams>>(undefined);
  const [local, setLocal] = useState<LayerParams>({});
  const end = () => {
    throttle.current?.end();
    throttle.current = undefined;
    setLocal({});
    props.finish();
  };
  const slider = (
    key: 'opacity' | 'rotation_degrees' | 'crop_zoom',
    label: string,
    min: number,
    max: number,
    step: number,
    value: number,
  ) => (
    <label className="field" data-testid={`layer-${key}`}>
      <span className="field-label">{label}</span>
      <input
        type="range"
        min={min}
        max={max}
        step={step}
        value={local[key] ?? value}
        onPointerDown={() => {
          throttle.current = props.begin(box.pin, {});
        }}
        onChange={(e) => {
          const layer = { [key]: Number(e.target.value) } as LayerParams;
          if (throttle.current) {
            setLocal(layer);
            props.hold(layer);
            throttle.current.push(layer);
          } else props.commitNow(layer);
        }}
        onPointerUp={end}
        onPointerCancel={end}
        data-testid={`layer-${key}-slider`}
      />
      <span className="num" data-testid={`layer-${key}-value`}>
        {(local[key] ?? value).toFixed(2)}
      </span>
    </label>
  );
  return (
    <div className="layer-controls" data-testid="layer-controls" data-pin={box.pin}>
      <h4>{box.pin}</h4>
      {slider('opacity', 'Opacity', 0, 1, 0.01, box.opacity)}
      {slider('rotation_degrees', 'Rotation', -180, 180, 1, box.rotation)}
      {slider('crop_zoom', 'Crop zoom', 1, 8, 0.05, props.cropZoom)}
      <div className="field" data-testid="layer-z">
        <span className="field-label">Z-order {box.z}</span>
        <button
          type="button"
          onClick={() => props.commitNow({ z_index: box.z - 1 })}
          data-testid="layer-z-down"
        >
          Lower
        </button>
        <button
          type="button"
          onClick={() => props.commitNow({ z_index: box.z + 1 })}
          data-testid="layer-z-up"
        >
          Raise
        </button>
      </div>
    </div>
  );
}
