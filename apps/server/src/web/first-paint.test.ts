/**
 * The first paint of a session's editor page: the markup (nodes, pins, connections, palette,
 * escaping), how it goes into `index.html`, and the real server sending it only to requests
 * that may read the session.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pipeline } from '@patchbay/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../app';
import type { PatchbayServer } from '../app';
import { escapeHtml, renderFirstPaint, withFirstPaint } from './first-paint';
import type { FirstPaintKind } from './first-paint';

const catalog: FirstPaintKind[] = [
  {
    kind: 'video::compositor',
    description: 'Layers <video>',
    oneshotOnly: false,
    inputs: [{ name: 'in_', type: 'raw_video', family: true }],
    outputs: [{ name: 'out', type: 'raw_video' }],
  },
  {
    kind: 'video::colorbars',
    description: 'Test pattern',
    oneshotOnly: false,
    inputs: [],
    outputs: [{ name: 'out', type: 'raw_video' }],
  },
  {
    kind: 'io::input',
    description: 'Oneshot input',
    oneshotOnly: true,
    inputs: [],
    outputs: [{ name: 'out', type: 'binary' }],
  },
];

const pipeline: Pipeline = {
  mode: 'dynamic',
  nodes: {
    bars: { kind: 'video::colorbars', params: {}, position: { x: 10, y: 20 } },
    mix: { kind: 'video::compositor', params: {}, position: { x: 300, y: 20 } },
    odd: { kind: 'x::<img src=x onerror=alert(1)>', params: {}, position: { x: 0, y: 400 } },
  },
  connections: {
    'bars.out->mix.in_0': {
      from: { node: 'bars', pin: 'out' },
      to: { node: 'mix', pin: 'in_0' },
      mode: 'reliable',
    },
  },
};

/** `attr="value"` pairs of the element with `data-id="id"` (the node wrapper). */
function nodeWrapper(html: string, id: string): string {
  const m = new RegExp(`<div class="react-flow__node[^>]*data-id="${id}"[^>]*>`).exec(html);
  return m?.[0] ?? '';
}

describe('first paint markup', () => {
  const html = renderFirstPaint({ sessionId: 'abc', pipeline, catalog });

  it('draws every node at its position with the pins the canvas shows', () => {
    expect(html).toContain('id="pb-first-paint"');
    expect(html).toContain('data-session-id="abc"');
    expect(html).toContain('data-nodes="3"');
    expect(nodeWrapper(html, 'bars')).toContain('transform:translate(10px,20px)');
    expect(nodeWrapper(html, 'mix')).toContain('data-box="300,20,170,79"');
    // The compositor's family shows its connected member and one free slot.
    const mix = html.slice(html.indexOf('data-node-id="mix"'), html.indexOf('data-node-id="odd"'));
    expect(mix.match(/data-side="in"/g)).toHaveLength(2);
    expect(mix).toContain('data-pin="in_0"');
    expect(mix).toContain('<div class="pin-row slot"');
    expect(mix).toContain('data-pin="out" data-side="out"');
  });

  it('carries each connection for the page to draw, with where its ends are expected', () => {
    expect(html).toMatch(
      /<path class="react-flow__edge-path" data-source="bars" data-source-pin="out" data-target="mix" data-target-pin="in_0" data-s="184,[\d.]+" data-t="296,[\d.]+"\/>/,
    );
  });

  it('lists the palette by category, as the studio does', () => {
    const order = [...html.matchAll(/<h4>([^<]+)<\/h4>/g)].map((m) => m[1]);
    expect(order).toEqual(['io', 'video']);
    expect(html).toContain('input<span class="tag">oneshot</span>');
    expect(html).toContain('title="Layers &lt;video&gt;"');
  });

  it('escapes text from the document and the catalogue', () => {
    expect(html).not.toContain('<img');
    expect(html).toContain('x::&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('<span class="tag danger">unknown kind</span>');
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });
});

describe('first paint in index.html', () => {
  const index =
    '<html><head><script type="module" crossorigin src="/assets/index-a1.js"></script>' +
    '<link rel="stylesheet" crossorigin href="/assets/index-b2.css"></head>' +
    '<body><div id="root"></div></body></html>';

  it('goes before the root element, inlines the stylesheet and starts the studio after painting', () => {
    const page = withFirstPaint(index, '<div id="pb-first-paint"></div>', (path) =>
      path === '/assets/index-b2.css' ? '.a{color:red}' : undefined,
    );
    expect(page).toContain('<style>.a{color:red}</style>');
    expect(page).not.toContain('stylesheet');
    expect(page).not.toContain('<script type="module"');
    expect(page).toContain('<link rel="modulepreload" crossorigin href="/assets/index-a1.js">');
    const paint = page.indexOf('<div id="pb-first-paint">');
    const start = page.indexOf('import("/assets/index-a1.js")');
    expect(paint).toBeGreaterThan(0);
    expect(start).toBeGreaterThan(paint);
    expect(page.indexOf('<div id="root">')).toBeGreaterThan(start);
  });

  it('keeps the stylesheet linked when it cannot be read', () => {
    const page = withFirstPaint(index, '<div id="pb-first-paint"></div>');
    expect(page).toContain('<link rel="stylesheet" crossorigin href="/assets/index-b2.css">');
  });

  it('leaves a page of another shape unchanged', () => {
    expect(withFirstPaint('<html><body>no root</body></html>', '<p>x</p>')).toBe(
      '<html><body>no root</body></html>',
    );
    const noEntry = '<html><body><div id="root"></div></body></html>';
    expect(withFirstPaint(noEntry, '<p>x</p>')).toBe(noEntry);
  });
});

describe('the server sends the first paint', () => {
  let dataDir: string;
  let studioDir: string;
  let server: PatchbayServer;
  let session: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'patchbay-first-paint-'));
    studioDir = mkdtempSync(join(tmpdir(), 'patchbay-first-paint-studio-'));
    mkdirSync(join(studioDir, 'assets'));
    writeFileSync(
      join(studioDir, 'index.html'),
      '<html><head><script type="module" crossorigin src="/assets/index-a1.js"></script></head>' +
        '<body><div id="root"></div></body></html>',
    );
    writeFileSync(join(studioDir, 'assets', 'index-a1.js'), 'export {}');
    server = await createServer({
      dataDir,
      hostname: '127.0.0.1',
      demo: false,
      studioDir,
      auth: { tokens: [{ token: 'tok-viewer', name: 'vi', role: 'viewer' }] },
    });
    const created = await server.sessions.create(
      {
        name: 'painted',
        yaml: 'nodes:\n  bars:\n    kind: video::colorbars\n    position: { x: 5, y: 6 }\n',
      },
      undefined,
    );
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    session = created.value.id;
  });
  afterAll(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(studioDir, { recursive: true, force: true });
  });

  const page = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, { headers });
    expect(res.status, path).toBe(200);
    return res.text();
  };

  it('to a request that may read the session: its token in the page URL or a Bearer header', async () => {
    const viaQuery = await page(`/s/${session}?token=tok-viewer`);
    expect(viaQuery).toContain('id="pb-first-paint"');
    expect(nodeWrapper(viaQuery, 'bars')).toContain('transform:translate(5px,6px)');
    const viaHeader = await page(`/s/${session}`, { authorization: 'Bearer tok-viewer' });
    expect(viaHeader).toContain('id="pb-first-paint"');
  });

  it('never without a valid token: the page is the plain studio, with nothing of the session', async () => {
    for (const path of [`/s/${session}`, `/s/${session}?token=wrong`]) {
      const html = await page(path);
      expect(html, path).not.toContain('pb-first-paint');
      expect(html, path).not.toContain('bars');
      expect(html, path).toContain('<script type="module" crossorigin src="/assets/index-a1.js">');
    }
  });

  it('not for a session that does not exist, nor for other pages', async () => {
    for (const path of [
      '/s/nope?token=tok-viewer',
      `/s/${session}/monitor?token=tok-viewer`,
      '/',
    ]) {
      expect(await page(path), path).not.toContain('pb-first-paint');
    }
  });
});
