import { useEffect, useState } from 'react';
import { showToast } from '../ui/toasts';
import { parseNodeCatalog } from './catalog';
import type { NodeKindInfo } from './catalog';
import { apiFetch } from './http';

let cached: Promise<NodeKindInfo[]> | undefined;

/** Load the node catalogue once per page load (retried after a failure). */
export function loadCatalog(): Promise<NodeKindInfo[]> {
  cached ??= apiFetch('/api/v1/nodes').then((r) => {
    if (r.ok) return parseNodeCatalog(r.value);
    cached = undefined;
    showToast('error', `node catalogue: ${r.error.message}`, r.error.code);
    return [];
  });
  return cached;
}

/** The node kinds the server offers (empty until loaded). */
export function useCatalog(): readonly NodeKindInfo[] {
  const [kinds, setKinds] = useState<readonly NodeKindInfo[]>([]);
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
