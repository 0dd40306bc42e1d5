// The state machine's graph, laid out by the server (dagre): the path taken, retries and catches drawn over it.
import { s } from './dom.js';

/** An arrowhead marker for the graph's edges (`marker-end: url(#id)`). */
const arrowHead = (id, fill) =>
  s(
    'marker',
    {
      id,
      viewBox: '0 0 10 10',
      refX: 9,
      refY: 5,
      markerWidth: 7,
      markerHeight: 7,
      orient: 'auto-start-reverse',
    },
    s('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill }),
  );

export function drawGraph(graph, detail) {
  const visited = new Set(detail.path);
  const failedStates = new Set(Object.keys(detail.caught));
  const current = detail.execution.status === 'RUNNING' ? detail.execution.currentState : null;
  const taken = new Set();
  for (let i = 1; i < detail.path.length; i++) taken.add(`${detail.path[i - 1]}→${detail.path[i]}`);
  const pad = 4;
  const svg = s(
    'svg',
    {
      width: graph.width + pad * 2,
      height: graph.height + pad * 2,
      viewBox: `${-pad} ${-pad} ${graph.width + pad * 2} ${graph.height + pad * 2}`,
      id: 'graph',
    },
    s('defs', {}, arrowHead('arrow', '#56616d'), arrowHead('arrow-ok', '#3fb950')),
  );
  for (const e of graph.edges) {
    if (e.points.length < 2) continue;
    const isTaken = taken.has(`${e.from}→${e.to}`);
    let d = `M ${e.points[0].x} ${e.points[0].y}`;
    for (let i = 1; i < e.points.length - 1; i++) {
      const p = e.points[i],
        q = e.points[i + 1];
      d += ` Q ${p.x} ${p.y} ${(p.x + q.x) / 2} ${(p.y + q.y) / 2}`;
    }
    const last = e.points[e.points.length - 1];
    d += ` L ${last.x} ${last.y}`;
    const mid = e.points[Math.floor(e.points.length / 2)];
    svg.append(
      s(
        'g',
        { class: `edge ${e.kind}${isTaken ? ' taken' : ''}`, 'data-from': e.from, 'data-to': e.to },
        s('title', {}, `${e.from} → ${e.to}${e.label ? ` (${e.label})` : ''}`),
        s('path', { d, 'marker-end': `url(#${isTaken ? 'arrow-ok' : 'arrow'})` }),
        e.kind === 'choice' || e.kind === 'default'
          ? s('text', { class: 'edge-label', x: mid.x + 4, y: mid.y - 3 }, e.label)
          : null,
      ),
    );
  }
  for (const n of graph.nodes) {
    const cls = [
      'node',
      n.type,
      visited.has(n.id) ? 'visited' : '',
      failedStates.has(n.id) ? 'failed' : '',
      n.id === current ? 'current' : '',
    ].join(' ');
    const x = n.x - n.width / 2,
      y = n.y - n.height / 2;
    const retried = detail.retries[n.id] || 0;
    const tip = [
      `${n.id} (${n.type})`,
      n.comment || '',
      ...n.retries.map((r) => `Retry: ${r}`),
      ...(detail.caught[n.id] || []).map((c) => `Caught: ${c}`),
    ]
      .filter(Boolean)
      .join('\n');
    svg.append(
      s(
        'g',
        { class: cls, 'data-state': n.id },
        s('title', {}, tip),
        s('rect', { x, y, width: n.width, height: n.height, rx: 6 }),
        s('text', { x: n.x, y: n.retries.length ? n.y - 3 : n.y + 4, 'text-anchor': 'middle' }, n.id),
        n.retries.length
          ? s(
              'text',
              { class: 'sub', x: n.x, y: n.y + 12, 'text-anchor': 'middle' },
              `⟲ retry ${n.retries.length} rule${n.retries.length > 1 ? 's' : ''}`,
            )
          : null,
        retried
          ? s(
              'text',
              { class: 'badge', x: x + n.width - 4, y: y - 3, 'text-anchor': 'end' },
              `⟲ ${retried} retr${retried > 1 ? 'ies' : 'y'}`,
            )
          : null,
      ),
    );
  }
  return svg;
}
