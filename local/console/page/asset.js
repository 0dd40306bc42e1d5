// One asset: what the notification says about it, its renditions, and the player.
import { h } from './dom.js';
import { bitrate, bytes, duration, sourceDuration } from './format.js';
import { newPlayer, renderToken, startPlayback } from './player.js';
import { api, main, state } from './shell.js';

function renditionsTable(n) {
  return h(
    'table',
    { id: 'renditions' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Output', 'Resolution', 'Bitrate', 'Codecs', 'Duration', 'Size'].map((c) => h('th', {}, c)),
      ),
    ),
    h(
      'tbody',
      {},
      n.outputs.map((o) =>
        h(
          'tr',
          {},
          h('td', { class: 'mono' }, o.key.split('/').pop()),
          h('td', {}, o.width && o.height ? `${o.width}×${o.height}` : '–'),
          h('td', {}, bitrate(o.bitrate)),
          h('td', { class: 'mono' }, o.codecs || '–'),
          h('td', {}, duration(o.durationMillis)),
          h('td', {}, bytes(o.fileSize)),
        ),
      ),
    ),
  );
}

function assetMeta(n, assetId) {
  return h(
    'div',
    { class: 'meta' },
    h('div', {}, h('span', {}, 'Asset'), h('b', { class: 'mono' }, assetId)),
    h('div', {}, h('span', {}, 'Source'), `s3://${n.source.bucket}/${n.source.key}`),
    h('div', {}, h('span', {}, 'Source size'), bytes(n.source.size)),
    h('div', {}, h('span', {}, 'Duration'), duration(sourceDuration(n))),
    h('div', {}, h('span', {}, 'Profile'), n.profile || '–'),
    h(
      'div',
      {},
      h('span', {}, 'Execution'),
      h(
        'a',
        { href: `#/executions/${encodeURIComponent(n.execution.name)}`, class: 'mono' },
        n.execution.name,
      ),
    ),
  );
}

function playerPanel(p, n) {
  const { video, quality, tokenBox, notice } = p.ui;
  return h(
    'div',
    { class: 'player' },
    h(
      'div',
      {},
      video,
      h(
        'div',
        { class: 'controls' },
        h(
          'button',
          { class: 'primary', id: 'play-new', onclick: () => startPlayback(p, true) },
          'New token & play',
        ),
        h(
          'button',
          {
            id: 'reuse',
            onclick: () => startPlayback(p, false),
            title: 'what a reload with the same one-time token does',
          },
          'Reload with this token',
        ),
        h('label', {}, 'Quality ', quality),
      ),
      notice,
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', { class: 'first' }, 'Playback token'),
      tokenBox,
      h('h2', {}, 'Renditions'),
      renditionsTable(n),
    ),
  );
}

export async function assetView(assetId) {
  clearInterval(state.timer);
  const assets = await api('assets');
  const n = assets.find((a) => a.playback.assetId === assetId);
  if (!n) {
    main.replaceChildren(
      h('a', { href: '#/assets' }, '← Assets'),
      h('div', { class: 'card empty' }, `No successful notification for asset ${assetId}.`),
    );
    return;
  }
  const p = newPlayer(assetId, {
    video: h('video', { id: 'video', controls: true, muted: true, playsinline: true }),
    quality: h('select', { id: 'quality', title: 'quality' }, h('option', { value: '-1' }, 'Auto')),
    tokenBox: h('div', { class: 'token', id: 'token' }),
    notice: h('div', { id: 'notice' }),
  });
  window.__console.player = p;
  state.player = p;
  p.ui.video.addEventListener('timeupdate', () => {
    p.currentTime = p.ui.video.currentTime;
  });
  p.ui.quality.addEventListener('change', () => {
    if (p.hls) p.hls.currentLevel = Number(p.ui.quality.value);
  });
  main.replaceChildren(
    h('div', {}, h('a', { href: '#/assets' }, '← Assets')),
    h('h1', {}, n.source.key),
    assetMeta(n, assetId),
    playerPanel(p, n),
  );
  window.__console.ready = true;
  await startPlayback(p, true);
  state.timer = setInterval(() => renderToken(p, p.tokenStatus), 1000);
}
