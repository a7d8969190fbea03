/**
 * The test room server as its own process (for the SIGKILL durability test and the fan-out
 * benchmark): `node --import tsx serve-rooms.ts --data-dir DIR --session ID [--session ID …]`.
 * Prints one JSON line `{"port": N}` once listening. With an IPC channel it answers the
 * message 'stats' with `{rss, heapUsed, cpuMs, rooms, connections}` (after a gc when the
 * process runs with --expose-gc).
 */
import { parseArgs } from 'node:util';
import { startTestServer } from './test-server';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    session: { type: 'string', multiple: true },
  },
});
const dataDir = values['data-dir'];
if (dataDir === undefined) {
  process.stderr.write('serve-rooms: --data-dir is required\n');
  process.exit(2);
}

const server = await startTestServer({
  dataDir,
  sessions: values.session ?? [],
  // Rooms stay loaded between a test's clients, as in a studio with people coming and going.
  unloadDelayMs: 60_000,
});
process.stdout.write(`${JSON.stringify({ port: server.port })}\n`);

process.on('message', (message) => {
  if (message !== 'stats') return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  process.send?.({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...server.rooms.stats(),
  });
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
