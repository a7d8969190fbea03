import { it } from 'vitest';
import { openRawSocket, startTestServer } from './testing/test-server';
it('dbg', async () => {
  const s = await startTestServer({ sessions: ['s1'] });
  for (const par of [1, 4, 16]) {
    const t0 = performance.now();
    let n = 0;
    await Promise.all(
      Array.from({ length: par }, async () => {
        while (n < 1000) {
          n++;
          const r = openRawSocket(s.url, 's1', 'alice');
          await r.opened;
          r.ws.send(new Uint8Array([9]));
          await r.closed;
        }
      }),
    );
    console.log('par', par, (performance.now() - t0) / 1000, 'ms/conn');
  }
  await s.close();
}, 60000);
