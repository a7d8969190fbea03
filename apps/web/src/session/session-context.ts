import { createContext, useContext } from 'react';
import type { NodeKindInfo } from '../api/catalog';
import type { RuntimeState } from '../monitor/runtime-state';
import type { ControlClient } from './control-client';
import type { SessionConnection } from './session-connection';

/** Everything a session page's components share. */
export interface SessionContextValue {
  readonly sessionId: string;
  readonly conn: SessionConnection;
  readonly control: ControlClient;
  readonly catalog: readonly NodeKindInfo[];
  readonly kinds: ReadonlyMap<string, NodeKindInfo>;
  readonly runtime: RuntimeState;
}

export const SessionContext = createContext<SessionContextValue | undefined>(undefined);

export function useSession(): SessionContextValue {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSession outside a session page');
  return v;
}
