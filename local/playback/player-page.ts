/**
 * The local player page: hls.js from node_modules (no CDN), playing the rewritten master playlist. It records what
 * happened in `window.__player` so a browser test can assert on it without scraping the DOM.
 */

export interface PlayerPageOptions {
  /** Play-route URL of the master playlist, token included (the play route decides whether it plays). */
  src: string;
  hlsScriptPath: string;
}

const escapeForScript = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

const PLAYER_SCRIPT = `
const status = { src: config.src, state: 'loading', errors: [], keyLoads: [], fatal: null };
window.__player = status;
const video = document.getElementById('video');
const line = document.getElementById('status');
const show = (text) => { line.textContent = text; };
function fail(entry) {
  status.errors.push(entry);
  if (entry.fatal) { status.state = 'failed'; status.fatal = entry.details; show('Playback failed: ' + entry.details + (entry.status ? ' (HTTP ' + entry.status + ')' : '')); }
}
if (!window.Hls || !Hls.isSupported()) {
  fail({ fatal: true, type: 'setup', details: 'mseUnsupported' });
} else {
  // A refused token does not become valid by asking again; retrying 4xx key loads would only spend the throttle budget.
  const noRetryOn4xx = (_config, _count, _timeout, response, retry) => retry && !(response && response.code >= 400 && response.code < 500);
  const hls = new Hls({
    debug: false,
    keyLoadPolicy: {
      default: {
        maxTimeToFirstByteMs: 8000,
        maxLoadTimeMs: 20000,
        timeoutRetry: { maxNumRetry: 1, retryDelayMs: 1000, maxRetryDelayMs: 20000, backoff: 'linear' },
        errorRetry: { maxNumRetry: 4, retryDelayMs: 1000, maxRetryDelayMs: 8000, backoff: 'linear', shouldRetry: noRetryOn4xx },
      },
    },
  });
  window.__hls = hls;
  // hls.js announces KEY_LOADED for every fragment; record each distinct key once, as the network sees it.
  const loadedKeys = new Set();
  hls.on(Hls.Events.KEY_LOADED, (_event, data) => {
    const uri = (data.keyInfo && data.keyInfo.decryptdata && data.keyInfo.decryptdata.uri) || (data.frag && data.frag.decryptdata && data.frag.decryptdata.uri) || '';
    if (loadedKeys.has(uri)) return;
    loadedKeys.add(uri);
    status.keyLoads.push({ ok: true });
  });
  hls.on(Hls.Events.ERROR, (_event, data) => {
    const code = (data.response && data.response.code) || (data.networkDetails && data.networkDetails.status) || undefined;
    if (data.details === Hls.ErrorDetails.KEY_LOAD_ERROR) status.keyLoads.push({ ok: false, status: code });
    fail({ fatal: data.fatal, type: data.type, details: data.details, status: code });
    if (data.fatal) hls.destroy();
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    status.state = 'playing';
    show('Playing');
    video.play().catch((e) => fail({ fatal: false, type: 'media', details: 'playRejected: ' + e.message }));
  });
  hls.loadSource(config.src);
  hls.attachMedia(video);
  video.addEventListener('ended', () => { status.state = 'ended'; show('Ended'); });
}
`;

export function playerPage(options: PlayerPageOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>secure-transcode player</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem;background:#111;color:#eee}video{width:100%;max-width:960px;background:#000}</style>
</head>
<body>
<h1>secure-transcode player</h1>
<video id="video" controls muted playsinline></video>
<p id="status">Loading…</p>
<script src="${options.hlsScriptPath}"></script>
<script>
const config = ${escapeForScript({ src: options.src })};
${PLAYER_SCRIPT}
</script>
</body>
</html>
`;
}
