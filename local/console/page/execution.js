// One execution: its summary, its graph and its event history, refreshed while it runs.
import { h } from './dom.js';
import { duration, pill } from './format.js';
import { drawGraph } from './graph.js';
import { api, every, main, state } from './shell.js';

function eventRow(e, t0) {
  const cls =
    e.type.includes('Failed') || e.type === 'StateCaught' ? 'err' : e.type === 'StateRetried' ? 'retry' : '';
  const blocks = [];
  if (e.input !== undefined)
    blocks.push(h('details', {}, h('summary', {}, 'input'), h('pre', {}, JSON.stringify(e.input, null, 2))));
  if (e.output !== undefined)
    blocks.push(
      h('details', {}, h('summary', {}, 'output'), h('pre', {}, JSON.stringify(e.output, null, 2))),
    );
  if (e.cause !== undefined && e.cause !== '')
    blocks.push(
      h(
        'details',
        {},
        h('summary', {}, 'cause'),
        h('pre', {}, typeof e.cause === 'string' ? e.cause : JSON.stringify(e.cause, null, 2)),
      ),
    );
  return h(
    'div',
    { class: `event ${cls}` },
    h(
      'div',
      { class: 'head' },
      h('span', { class: 't' }, `+${duration(e.timestamp - t0)}`),
      h('span', { class: 'type' }, e.type),
      e.state ? h('span', { class: 'state' }, e.state) : null,
      e.error ? h('span', { class: 'muted' }, e.error) : null,
    ),
    blocks,
  );
}

export async function executionView(name) {
  state.graph ||= await api('graph');
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let lastCount = -1;
  await every(2000, async () => {
    const d = await api(`executions/${encodeURIComponent(name)}`);
    if (d.events.length === lastCount) return;
    lastCount = d.events.length;
    const x = d.execution;
    const t0 = d.events[0] ? d.events[0].timestamp : x.startDate;
    const retries = Object.values(d.retries).reduce((a, b) => a + b, 0);
    main.replaceChildren(
      h('div', {}, h('a', { href: '#/executions' }, '← Executions')),
      h('h1', {}, x.sourceKey || x.name, ' ', pill(x.status)),
      h(
        'div',
        { class: 'meta' },
        h('div', {}, h('span', {}, 'Execution'), h('b', { class: 'mono' }, x.name)),
        h('div', {}, h('span', {}, 'Current step'), x.currentState || '–'),
        h('div', {}, h('span', {}, 'Backend'), x.backend || '–'),
        h(
          'div',
          {},
          h('span', {}, 'Asset'),
          x.assetId ? h('a', { href: `#/assets/${x.assetId}` }, x.assetId) : '–',
        ),
        h('div', {}, h('span', {}, 'Started'), new Date(x.startDate).toLocaleString()),
        h('div', {}, h('span', {}, 'Duration'), duration((x.stopDate || Date.now()) - x.startDate)),
        h('div', {}, h('span', {}, 'Retries'), String(retries)),
        x.errorCode
          ? h(
              'div',
              {},
              h('span', {}, 'Error'),
              h('b', { class: 'bad' }, `${x.errorCode}${x.failedStep ? ` at ${x.failedStep}` : ''}`),
            )
          : null,
      ),
      h(
        'div',
        { class: 'detail' },
        h(
          'div',
          { class: 'card graph' },
          h(
            'div',
            { class: 'legend' },
            h('span', {}, h('i', { class: 'ok' }), 'path taken'),
            h('span', {}, h('i', { class: 'catch' }), 'catch'),
            h('span', {}, '⟲ retry rules / retries that happened'),
          ),
          drawGraph(state.graph, d),
        ),
        h(
          'div',
          { class: 'card events', id: 'events' },
          d.events.map((e) => eventRow(e, t0)),
        ),
      ),
    );
    window.__console.ready = true;
  });
}
