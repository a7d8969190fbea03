import type { LinkStatus } from './control-client';

/** The status chip's state: both links up → connected; either offline → offline; else connecting. */
export function combinedStatus(doc: LinkStatus, control: LinkStatus): LinkStatus {
  if (doc === 'connected' && control === 'connected') return 'connected';
  if (doc === 'offline' || control === 'offline') return 'offline';
  return 'connecting';
}
