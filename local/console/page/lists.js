// The three list pages (executions, notifications, assets): one table each, refreshed while it is shown.
import { h } from './dom.js';
import { age, clock, duration, pill, sourceDuration } from './format.js';
import { api, every, main } from './shell.js';

/**
 * A list page: a heading, a line of explanation and the table of `path`'s rows (the table's id), fetched every `ms`.
 * The page counts as ready (window.__console.ready) once it shows a table.
 */
async function listView({ title, intro, path, ms, empty, columns, row }) {
  main.replaceChildren(h('h1', {}, title), h('p', { class: 'muted' }, intro), h('div', { id: 'list' }));
  await every(ms, async () => {
    const rows = await api(path);
    const list = document.getElementById('list');
    if (!list) return;
    if (rows.length === 0) {
      list.replaceChildren(h('div', { class: 'card empty' }, empty));
      return;
    }
    list.replaceChildren(
      h(
        'table',
        { id: path },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            columns.map((c) => h('th', {}, c)),
          ),
        ),
        h('tbody', {}, rows.map(row)),
      ),
    );
    window.__console.ready = true;
  });
}

// ---- executions -------------------------------------------------------------------------------------------
export async function executionsView() {
  await listView({
    title: 'Executions',
    intro: 'Every workflow execution of this stack, newest first.',
    path: 'executions',
    ms: 2000,
    empty: 'No executions yet. Upload a file under incoming/ (see `secure-transcode up`).',
    columns: ['Status', 'Source', 'Current step', 'Backend', 'Asset', 'Error', 'Age', 'Duration'],
    row: (r) =>
      h(
        'tr',
        { 'data-execution': r.name, 'data-status': r.status },
        h('td', {}, pill(r.status)),
        h(
          'td',
          {},
          h('a', { href: `#/executions/${encodeURIComponent(r.name)}` }, r.sourceKey || '(no source)'),
          h('div', { class: 'muted mono' }, r.name),
        ),
        h('td', {}, r.currentState || '–'),
        h('td', {}, r.backend || '–'),
        h('td', { class: 'mono' }, r.assetId ? h('a', { href: `#/assets/${r.assetId}` }, r.assetId) : '–'),
        h(
          'td',
          {},
          r.errorCode
            ? [r.errorCode, h('div', { class: 'muted' }, r.failedStep ? `at ${r.failedStep}` : '')]
            : '–',
        ),
        h('td', {}, age(r.startDate)),
        h('td', {}, duration((r.stopDate || Date.now()) - r.startDate)),
      ),
  });
}

// ---- notifications ------------------------------------------------------------------------------------------
export async function notificationsView() {
  await listView({
    title: 'Notifications',
    intro:
      'As SNS (the topic\u2019s queue subscriber) and EventBridge delivered them, newest first, each checked against schemas/notification.v1.schema.json.',
    path: 'notifications',
    ms: 2000,
    empty: 'No notifications yet.',
    columns: ['Received', 'Channel', 'Status', 'Execution', 'Schema', 'Message'],
    row: (n) =>
      h(
        'tr',
        { 'data-valid': String(n.valid) },
        h('td', {}, n.receivedAt ? clock(n.receivedAt) : '–'),
        h('td', {}, n.channel),
        h('td', {}, n.status ? pill(n.status) : h('span', { class: 'pill neutral' }, 'not ours')),
        h(
          'td',
          { class: 'mono' },
          n.execution
            ? h('a', { href: `#/executions/${encodeURIComponent(n.execution)}` }, n.execution)
            : '–',
        ),
        h(
          'td',
          {},
          h('span', { class: `pill ${n.valid ? 'valid' : 'invalid'}` }, n.valid ? 'valid' : 'invalid'),
          n.problems.map((p) => h('div', { class: 'muted' }, p)),
        ),
        h(
          'td',
          {},
          h(
            'details',
            { class: 'flush' },
            h('summary', {}, 'JSON'),
            h('pre', {}, JSON.stringify(n.message, null, 2)),
          ),
        ),
      ),
  });
}

// ---- assets ---------------------------------------------------------------------------------------------------
export async function assetsView() {
  await listView({
    title: 'Assets',
    intro: 'Assets of successful executions, newest first.',
    path: 'assets',
    ms: 3000,
    empty: 'No assets yet.',
    columns: ['Asset', 'Source', 'Duration', 'Renditions', 'Profile', 'Finished'],
    row: (n) =>
      h(
        'tr',
        {},
        h('td', { class: 'mono' }, h('a', { href: `#/assets/${n.playback.assetId}` }, n.playback.assetId)),
        h('td', {}, n.source.key),
        h('td', {}, duration(sourceDuration(n))),
        h('td', {}, n.outputs.map((o) => `${o.width ?? '?'}×${o.height ?? '?'}`).join(', ')),
        h('td', {}, n.profile || '–'),
        h('td', {}, age(Date.parse(n.timestamp))),
      ),
  });
}
