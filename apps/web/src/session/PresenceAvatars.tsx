import { usePeers } from './hooks';
import { useSession } from './session-context';

function initials(name: string): string {
  const parts = name.trim().split(/\s+/);
  return parts
    .slice(0, 2)
    .map((p) => p[0]?.toUpperCase() ?? '')
    .join('');
}

/** Everyone else in the session, with the colour the server gave them. */
export function PresenceAvatars() {
  const { conn } = useSession();
  const peers = usePeers(conn);
  return (
    <div className="avatars" data-testid="presence-avatars">
      {[...peers.entries()].map(([id, p]) =>
        p.user ? (
          <span
            key={id}
            className="avatar"
            style={{ background: p.user.color }}
            title={p.dragging ? `${p.user.name} is dragging ${p.dragging.node}` : p.user.name}
            data-testid="presence-avatar"
            data-user={p.user.name}
          >
            {initials(p.user.name)}
          </span>
        ) : null,
      )}
    </div>
  );
}
