import { useEffect, useState } from 'react';
import { showToast } from '../ui/toasts';
import { parseNodeCatalog } from './catalog';
import type { NodeKindInfo } from './catalog';
import { apiFetch } from './http';

let cached: Promise<NodeKindInfo[]> | undefined;
/** The catalogue once loaded: a view mounted after that draws with it at once. */
let loaded: NodeKindInfo[] | undefined;

/** Load the node catalogue once per page load (retried after a failure). */
export function loadCatalog(): Promise<NodeKindInfo[]> {
  cached ??= apiFetch('/api/v1/nodes').then((r) => {
    if (r.ok) {
      loaded = parseNodeCatalog(r.value);
      return loaded;
    }
    cached = undefined;
    showToast('error', `node catalogue: ${r.error.message}`, r.error.code);
    return [];
  });
  return cached;
}

/** The node kinds the server offers (empty until loaded). */
export function useCatalog(): readonly NodeKindInfo[] {
  // Loaded before the first render (main.tsx starts it), the canvas draws nodes with their
  // pins in one pass instead of drawing every node again when the catalogue arrives.
  const [kinds, setKinds] = useState<readonly NodeKindInfo[]>(() => loaded ?? []);
  useEffect(() => {
    let live = true;
    void loadCatalog().then((k) => {
      if (live) setKinds(k);
    });
    return () => {
      live = false;
    };
  }, []);
  return kinds;
}
