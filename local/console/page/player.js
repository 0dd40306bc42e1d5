// The asset page's player: hls.js (a classic script, the global `Hls`) playing with a one-time playback token, and
// the key service's reason shown when it refuses one.
import { h } from './dom.js';
import { bitrate, clock, duration } from './format.js';
import { api } from './shell.js';

const REASONS = {
  token_used: 'This token has already been used as many times as it allows (one-time by default).',
  token_expired: 'This token has expired.',
  token_invalid: 'This token is not genuine: its signature does not match (forged or altered).',
  token_missing: 'The request carried no token.',
  token_wrong_asset: 'This token was issued for another asset.',
  throttled: 'Too many requests for this token or client; wait a moment.',
  asset_not_found: 'The key service has no record of this asset.',
  playlist_not_found: 'The playlist does not exist.',
};

function bodyReason(xhr) {
  let text = '';
  try {
    if (xhr?.response instanceof ArrayBuffer) text = new TextDecoder().decode(xhr.response);
    else if (typeof xhr?.response === 'string') text = xhr.response;
  } catch (_) {
    // no readable body
  }
  try {
    const reason = JSON.parse(text).error;
    return typeof reason === 'string' ? reason : null;
  } catch (_) {
    return null;
  }
}

// A refused token does not become valid by asking again: no retries on 4xx for keys, playlists or segments.
const no4xx = (_c, _n, _t, response, retry) =>
  retry && !(response && response.code >= 400 && response.code < 500);
const policy = (tries) => ({
  default: {
    maxTimeToFirstByteMs: 8000,
    maxLoadTimeMs: 20000,
    timeoutRetry: { maxNumRetry: 1, retryDelayMs: 1000, maxRetryDelayMs: 8000 },
    errorRetry: { maxNumRetry: tries, retryDelayMs: 1000, maxRetryDelayMs: 8000, shouldRetry: no4xx },
  },
});

/**
 * The key service explains a refusal in its response body ({"error": reason}); hls.js drops the body before it
 * reports the error, so a thin loader keeps the reason of the last refused request on the player.
 */
function reasonLoader(p) {
  const Base = Hls.DefaultConfig.loader;
  return class ReasonLoader extends Base {
    load(context, config, callbacks) {
      const onError = callbacks.onError;
      super.load(context, config, {
        ...callbacks,
        onError: (response, ctx, details, stats) => {
          if (response && response.code >= 400 && response.code < 500)
            p.refusal = { code: response.code, reason: bodyReason(details) };
          onError(response, ctx, details, stats);
        },
      });
    }
  };
}

/** The player's state, also published as window.__console.player for the browser test. */
export function newPlayer(assetId, ui) {
  return {
    ui,
    refusal: null,
    assetId,
    hls: null,
    issued: null,
    state: 'idle',
    reason: null,
    keyLoads: [],
    errors: [],
    requests: { key: 0 },
  };
}

export function renderToken(p, status) {
  const { tokenBox } = p.ui;
  if (!p.issued) return tokenBox.replaceChildren();
  const left = Date.parse(p.issued.expiresAt) - Date.now();
  tokenBox.replaceChildren(
    h(
      'div',
      {},
      h('span', {}, 'Token expires'),
      `${clock(p.issued.expiresAt)} (${left > 0 ? `in ${duration(left)}` : 'expired'})`,
    ),
    h(
      'div',
      { id: 'uses' },
      h('span', {}, 'Uses left'),
      status && status.valid !== undefined
        ? status.valid
          ? `${status.usesLeft} of ${status.maxUses}`
          : `none (${status.reason})`
        : `${p.issued.maxUses} of ${p.issued.maxUses}`,
    ),
    h('div', {}, h('span', {}, 'Token'), h('span', { class: 'mono' }, `${p.issued.token.slice(0, 12)}…`)),
  );
}

async function refreshStatus(p) {
  if (!p.issued) return;
  const status = await api(`assets/${p.assetId}/token-status`, { token: p.issued.token }).catch(() => null);
  p.tokenStatus = status;
  renderToken(p, status);
}

function showProblem(p, reason, where) {
  p.state = 'failed';
  p.reason = reason;
  p.ui.notice.replaceChildren(
    h(
      'div',
      { class: 'notice bad', id: 'refusal' },
      h('b', {}, `The key service refused the ${where}: ${reason || 'no reason given'}`),
      h('div', {}, REASONS[reason] || 'See the key service log.'),
      h(
        'div',
        { class: 'controls' },
        h(
          'button',
          { class: 'primary', id: 'new-token', onclick: () => startPlayback(p, true) },
          'Get a new token and play',
        ),
      ),
    ),
  );
}

/** What hls.js reports: the levels once the master playlist is parsed, and a refusal or fatal error as the end. */
function followHls(p, hls) {
  const { video, quality } = p.ui;
  hls.on(Hls.Events.KEY_LOADING, () => {
    p.requests.key += 1;
  });
  hls.on(Hls.Events.KEY_LOADED, () => {
    p.keyLoads.push({ ok: true });
    refreshStatus(p);
  });
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
    quality.replaceChildren(
      h('option', { value: '-1' }, 'Auto'),
      ...data.levels.map((l, i) =>
        h('option', { value: String(i) }, `${l.width}×${l.height} · ${bitrate(l.bitrate)}`),
      ),
    );
    p.levels = data.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate }));
    p.state = 'playing';
    video.play().catch(() => undefined);
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => {
    p.level = data.level;
  });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    const code = data.response?.code || data.networkDetails?.status || null;
    p.errors.push({ fatal: data.fatal, details: data.details, status: code });
    if (data.details === Hls.ErrorDetails.KEY_LOAD_ERROR) p.keyLoads.push({ ok: false, status: code });
    // Every rendition shares the asset's key URI: after a refused key hls.js would try the next rendition and be
    // refused again. A 4xx on the key is final for this token, so stop at the first one.
    const refusedKey = data.details === Hls.ErrorDetails.KEY_LOAD_ERROR && code >= 400 && code < 500;
    if (!data.fatal && !refusedKey) return;
    const where =
      data.details === Hls.ErrorDetails.KEY_LOAD_ERROR
        ? 'key'
        : data.details.startsWith('manifest') || data.details.startsWith('level')
          ? 'playlist'
          : 'segment';
    const reason = p.refusal?.reason || (code ? `HTTP ${code}` : data.details);
    p.refusal = null;
    hls.destroy();
    p.hls = null;
    showProblem(p, reason, where);
    refreshStatus(p);
  });
}

function load(p) {
  if (p.hls) p.hls.destroy();
  p.state = 'loading';
  p.reason = null;
  p.ui.notice.replaceChildren();
  const hls = new Hls({
    loader: reasonLoader(p),
    keyLoadPolicy: policy(2),
    manifestLoadPolicy: policy(2),
    playlistLoadPolicy: policy(2),
    fragLoadPolicy: policy(3),
  });
  p.hls = hls;
  followHls(p, hls);
  hls.loadSource(p.issued.playUrl);
  hls.attachMedia(p.ui.video);
}

/** Plays with a new one-time token, or (`fresh` false) with the one already issued, as a page reload would. */
export async function startPlayback(p, fresh) {
  if (fresh || !p.issued) {
    p.issued = await api(`assets/${p.assetId}/token`, { ttlSeconds: 600, maxUses: 1 });
    renderToken(p);
  }
  load(p);
}
