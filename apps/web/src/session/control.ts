import { socketUrl } from '../api/token';
import { ControlClient } from './control-client';

let client: ControlClient | undefined;

/** The page's one control connection (`/api/v1/control`), opened on first use. */
export function controlClient(): ControlClient {
  client ??= new ControlClient({ url: () => socketUrl('/api/v1/control') });
  return client;
}
