/**
 * A process that opens the SQLite storage in `--data-dir`, appends `--updates` updates to one
 * session, closes the storage and prints `closed` (storage tests run it: a close that waits on
 * something the event loop does not hold never returns, and the process ends early with code 13).
 */
import { parseArgs } from 'node:util';
import * as Y from 'yjs';
import { silentLogger } from '@patchbay/engine';
import { recordingMetrics } from '../../yjs/testing/recording-metrics';
import { openSqliteStorage } from '../sqlite-storage';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    updates: { type: 'string', default: '1000' },
    thread: { type: 'boolean', default: false },
  },
});
const dataDir = values['data-dir'];
if (dataDir === undefined) throw new Error('--data-dir is required');
const opened = openSqliteStorage({
  dataDir,
  logger: silentLogger,
  metrics: recordingMetrics(),
  thread: values.thread,
  compactEvery: 100,
});
if (!opened.ok) throw new Error(opened.error.message);
const storage = opened.value;
const created = await storage.createSession({ id: 's', name: 'S' });
if (!created.ok) throw new Error(created.error.message);
const doc = new Y.Doc();
const map = doc.getMap('m');
for (let i = 0; i < Number(values.updates); i++) {
  const before = Y.encodeStateVector(doc);
  map.set('k', i);
  const r = await storage.appendUpdate('s', Y.encodeStateAsUpdate(doc, before));
  if (!r.ok) throw new Error(r.error.message);
}
await storage.close();
process.stdout.write('closed\n');
