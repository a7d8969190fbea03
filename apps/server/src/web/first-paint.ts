/**
 * The first paint of a session's editor page: the studio's editor as static HTML (top bar,
 * toolbar, palette, the canvas with every node and connection, the side pane), sent inside
 * `index.html` so the browser draws the session before the studio's code has loaded and run.
 *
 * The markup mirrors the studio's own (apps/web: `App`, `EditorView`, `Palette`,
 * `PipelineNodeView`, React Flow's node and handle classes) and uses its stylesheet, so it looks
 * the same; nodes are placed and pinned by `@patchbay/document`'s `layOutNodes`, as the canvas
 * places them. A script in `index.html` (`__patchbayFirstPaint`) fits the canvas to the window
 * and draws the connections; the studio then opens the editor on that same viewport and removes
 * this overlay once its own canvas has drawn the nodes (apps/web/src/session/first-paint.ts).
 */
import { expectedPinAnchor, layOutNodes } from '@patchbay/document';
import type { LaidOutNode, PinHandle } from '@patchbay/document';
import { groupKinds } from '@patchbay/protocol';
import type { KindPins, PinSpec, Pipeline } from '@patchbay/protocol';

/** One node kind as the catalogue (`GET /api/v1/nodes`) lists it. */
export interface FirstPaintKind {
  readonly kind: string;
  readonly description: string;
  readonly oneshotOnly: boolean;
  readonly inputs: readonly PinSpec[];
  readonly outputs: readonly PinSpec[];
}

export interface FirstPaintInput {
  readonly sessionId: string;
  readonly pipeline: Pipeline;
  readonly catalog: readonly FirstPaintKind[];
}

/** The element id of the overlay; the studio finds and removes it by this id. */
export const FIRST_PAINT_ID = 'pb-first-paint';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text or an attribute value, safe inside HTML. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** The static editor for `input`: one element, `#pb-first-paint`, then the script that fits it. */
export function renderFirstPaint(input: FirstPaintInput): string {
  const { sessionId, pipeline } = input;
  const catalog = [...input.catalog].sort((a, b) =>
    a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0,
  );
  const kinds = new Map<string, KindPins>(catalog.map((k) => [k.kind, k]));
  const connections = Object.values(pipeline.connections);
  const nodes = layOutNodes(pipeline, connections, kinds);
  const id = encodeURIComponent(sessionId);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const edges = connections
    .map((c) => {
      const from = byId.get(c.from.node);
      const to = byId.get(c.to.node);
      if (!from || !to) return '';
      return (
        `<path class="react-flow__edge-path${c.mode === 'best_effort' ? ' animated' : ''}"` +
        ` data-source="${escapeHtml(c.from.node)}" data-source-pin="${escapeHtml(c.from.pin)}"` +
        ` data-target="${escapeHtml(c.to.node)}" data-target-pin="${escapeHtml(c.to.pin)}"` +
        ` data-s="${point(expectedPinAnchor(from, c.from.pin, 'out'))}"` +
        ` data-t="${point(expectedPinAnchor(to, c.to.pin, 'in'))}"/>`
      );
    })
    .join('');
  return (
    `<div id="${FIRST_PAINT_ID}" class="app first-paint" aria-busy="true"` +
    ` data-session-id="${escapeHtml(sessionId)}" data-nodes="${nodes.length}">` +
    '<header class="topbar"><a href="/" class="brand">Patchbay</a><nav class="tabs">' +
    `<a href="/s/${id}" class="tab active">Editor</a>` +
    `<a href="/s/${id}/monitor" class="tab">Monitor</a></nav>` +
    '<div class="topbar-slot"><span class="status-chip status-connecting">connecting</span></div>' +
    '</header><main class="page"><div class="session-root"><div class="editor">' +
    '<div class="editor-toolbar"><button type="button" disabled>Undo</button>' +
    '<button type="button" disabled>Redo</button>' +
    '<button type="button" aria-pressed="false">Show monitor</button></div>' +
    palette(catalog) +
    '<div class="canvas"><div class="react-flow dark">' +
    '<svg class="react-flow__background react-flow__container"><pattern id="pb-first-paint-dots"' +
    ' patternUnits="userSpaceOnUse"><circle class="react-flow__background-pattern dots"/></pattern>' +
    '<rect x="0" y="0" width="100%" height="100%" fill="url(#pb-first-paint-dots)"/></svg>' +
    '<div class="react-flow__viewport xyflow__viewport react-flow__container">' +
    `<svg class="first-paint-edges">${edges}</svg>` +
    // Hidden until the script has hidden the nodes the fitted view does not show: only those on
    // screen are laid out and painted.
    `<div class="react-flow__nodes" style="display:none">${nodes.map(nodeHtml).join('')}</div>` +
    '</div></div></div>' +
    '<aside class="side"><div class="side-tabs" role="tablist">' +
    '<button type="button" role="tab" aria-selected="true" class="active">Inspector</button>' +
    '<button type="button" role="tab" aria-selected="false">Compositor</button>' +
    '<button type="button" role="tab" aria-selected="false">YAML</button></div>' +
    '<div class="empty">Select a node to edit its params.</div></aside>' +
    '</div></div></main></div>' +
    '<script>window.__patchbayFirstPaint && window.__patchbayFirstPaint();</script>'
  );
}

const point = (p: { x: number; y: number }): string => `${p.x},${p.y}`;

function palette(catalog: readonly FirstPaintKind[]): string {
  const groups = groupKinds(catalog)
    .map(
      (g) =>
        `<div class="palette-group"><h4>${escapeHtml(g.category)}</h4>` +
        g.kinds
          .map(
            (k) =>
              `<button type="button" class="palette-entry" title="${escapeHtml(k.description)}">` +
              escapeHtml(k.kind.slice(g.category.length + 2) || k.kind) +
              (k.oneshotOnly ? '<span class="tag">oneshot</span>' : '') +
              '</button>',
          )
          .join('') +
        '</div>',
    )
    .join('');
  return (
    '<aside class="palette"><input type="search" placeholder="Search nodes" disabled>' +
    `${groups}</aside>`
  );
}

function nodeHtml(node: LaidOutNode): string {
  const id = escapeHtml(node.id);
  const pin = (p: PinHandle, side: 'in' | 'out'): string =>
    `<div class="react-flow__handle react-flow__handle-${side === 'in' ? 'left' : 'right'}` +
    ` pin pin-${escapeHtml(p.type)}" data-pin="${escapeHtml(p.name)}" data-side="${side}"></div>`;
  const inputs = node.inputs
    .map(
      (p) =>
        `<div class="pin-row${p.slot ? ' slot' : ''}" title="${escapeHtml(`${p.name}: ${p.type}`)}">` +
        `${pin(p, 'in')}<span>${p.slot ? '+' : escapeHtml(p.name)}</span></div>`,
    )
    .join('');
  const outputs = node.outputs
    .map(
      (p) =>
        `<div class="pin-row out" title="${escapeHtml(`${p.name}: ${p.type}`)}">` +
        `<span>${escapeHtml(p.name)}</span>${pin(p, 'out')}</div>`,
    )
    .join('');
  return (
    '<div class="react-flow__node react-flow__node-pipeline"' +
    ` style="transform:translate(${node.position.x}px,${node.position.y}px)" data-id="${id}"` +
    ` data-box="${node.position.x},${node.position.y},${node.size.width},${node.size.height}">` +
    `<div class="pb-node" data-node-id="${id}" data-kind="${escapeHtml(node.kind)}">` +
    '<div class="pb-node-head"><span class="state-dot state-unknown" title="unknown"></span>' +
    `<strong class="pb-node-id">${id}</strong></div>` +
    `<div class="pb-node-kind">${escapeHtml(node.kind)}` +
    (node.known ? '' : '<span class="tag danger">unknown kind</span>') +
    '</div>' +
    `<div class="pb-node-pins"><div class="pins-in">${inputs}</div>` +
    `<div class="pins-out">${outputs}</div></div></div></div>`
  );
}

/** The studio's entry script and stylesheet as `vite build` writes them into `index.html`. */
const ENTRY_SCRIPT = /<script type="module" crossorigin src="(\/assets\/[\w.-]+\.js)"><\/script>/;
const STYLESHEET = /<link rel="stylesheet" crossorigin href="(\/assets\/[\w.-]+\.css)">/;

/**
 * `index.html` with the first paint placed before the studio's root element, or unchanged when
 * the page is not the shape `vite build` gives (no root element, no entry script).
 *
 * - The stylesheet is inlined (`readAsset` gives a built file's text, or undefined): the first
 *   paint then waits for no request, only for the page itself.
 * - The studio's entry script, a deferred module, would run as soon as the page is parsed, in
 *   the same turn, before the browser paints: running it (a few hundred ms cold) would hold the
 *   first paint back. So its tag becomes a preload (the download and compile start as before)
 *   and the page imports it once the first frame is painted (`requestAnimationFrame`, then a
 *   task).
 */
export function withFirstPaint(
  indexHtml: string,
  firstPaint: string,
  readAsset: (path: string) => string | undefined = () => undefined,
): string {
  const root = indexHtml.indexOf('<div id="root">');
  const entry = ENTRY_SCRIPT.exec(indexHtml);
  if (root < 0 || !entry?.[1]) return indexHtml;
  // The marks are for the first-render benchmark (bench/web-first-render.ts).
  const start =
    "<script>performance.mark('patchbay:first-paint-parsed');" +
    "requestAnimationFrame(function () { performance.mark('patchbay:first-paint-frame');" +
    `setTimeout(function () { import(${JSON.stringify(entry[1])}); }); });</script>`;
  let page = indexHtml.slice(0, root) + firstPaint + start + indexHtml.slice(root);
  page = page.replace(entry[0], `<link rel="modulepreload" crossorigin href="${entry[1]}">`);
  const sheet = STYLESHEET.exec(page);
  const css = sheet?.[1] ? readAsset(sheet[1]) : undefined;
  if (sheet && css !== undefined && !css.includes('</')) {
    page = page.replace(sheet[0], () => `<style>${css}</style>`);
  }
  return page;
}
