import { groupKinds } from '@patchbay/protocol';
import { useState } from 'react';
import { useSession } from '../session/session-context';

/** The MIME type a palette entry carries when dragged onto the canvas. */
export const PALETTE_DRAG_TYPE = 'application/x-patchbay-kind';

/** Node kinds by category, searchable; click adds at the canvas centre, drag drops where let go. */
export function Palette(props: { onAdd: (kind: string) => void }) {
  const { catalog } = useSession();
  const [search, setSearch] = useState('');
  const groups = groupKinds(catalog, search);
  return (
    <aside className="palette" data-testid="palette">
      <input
        type="search"
        placeholder="Search nodes"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
        data-testid="palette-search"
      />
      {groups.map((g) => (
        <div
          key={g.category}
          className="palette-group"
          data-testid="palette-category"
          data-category={g.category}
        >
          <h4>{g.category}</h4>
          {g.kinds.map((k) => (
            <button
              type="button"
              key={k.kind}
              className="palette-entry"
              title={k.description}
              draggable
              onDragStart={(e) => {
                e.dataTransfer.setData(PALETTE_DRAG_TYPE, k.kind);
                e.dataTransfer.effectAllowed = 'copy';
              }}
              onClick={() => props.onAdd(k.kind)}
              data-testid={`palette-entry-${k.kind}`}
              data-kind={k.kind}
            >
              {k.kind.slice(g.category.length + 2) || k.kind}
              {k.oneshotOnly ? <span className="tag">oneshot</span> : null}
            </button>
          ))}
        </div>
      ))}
      {groups.length === 0 ? <p className="muted">No node kinds match.</p> : null}
    </aside>
  );
}
