// The local console's page: plain DOM, no framework, every value inserted as text (never as HTML).

(() => {
  const TOKEN = new URLSearchParams(location.search).get('token') || '';
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const state = { timer: null, player: null, graph: null, view: '' };
  window.__console = { ready: false, player: null };

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {}))
      if (v !== undefined && v !== null) el.setAttribute(k, v);
    for (const c of children.flat())
      if (c !== null && c !== undefined)
        el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }

  async function api(path, body) {
    const res = await fetch(`/console/api/${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { 'x-console-token': TOKEN, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: 'no-store',
    });
    const data = await res.json().catch(() => ({}));
    live.classList.toggle('stale', !res.ok);
    if (!res.ok)
      throw Object.assign(new Error(data.error || `HTTP ${res.status}`), { status: res.status, data });
    return data;
  }

  const duration = (ms) => {
    if (ms == null || ms < 0) return '–';
    if (ms < 1000) return `${ms} ms`;
    const sec = ms / 1000;
    if (sec < 60) return `${sec.toFixed(1)} s`;
    const m = Math.floor(sec / 60);
    if (m < 60) return `${m} min ${Math.round(sec - m * 60)} s`;
    const hr = Math.floor(m / 60);
    return hr < 48 ? `${hr} h ${m - hr * 60} min` : `${Math.floor(hr / 24)} d`;
  };
  const age = (t) => `${duration(Date.now() - t)} ago`;
  const bytes = (n) =>
    n == null
      ? '–'
      : n < 1024
        ? `${n} B`
        : n < 1048576
          ? `${(n / 1024).toFixed(1)} KiB`
          : `${(n / 1048576).toFixed(1)} MiB`;
  const bitrate = (b) =>
    b == null ? '–' : b >= 1e6 ? `${(b / 1e6).toFixed(2)} Mb/s` : `${Math.round(b / 1000)} kb/s`;
  const pill = (status) => h('span', { class: `pill ${status}` }, status);
  const clock = (t) => new Date(t).toLocaleTimeString();

  function every(ms, fn) {
    clearInterval(state.timer);
    const tick = () => fn().catch((e) => console.warn(e));
    state.timer = setInterval(tick, ms);
    return tick();
  }

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
  async function executionsView() {
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

  // ---- execution detail ---------------------------------------------------------------------------------------
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

  function drawGraph(graph, detail) {
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

  function eventRow(e, t0) {
    const cls =
      e.type.includes('Failed') || e.type === 'StateCaught'
        ? 'err'
        : e.type === 'StateRetried'
          ? 'retry'
          : '';
    const blocks = [];
    if (e.input !== undefined)
      blocks.push(
        h('details', {}, h('summary', {}, 'input'), h('pre', {}, JSON.stringify(e.input, null, 2))),
      );
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

  async function executionView(name) {
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

  // ---- notifications ------------------------------------------------------------------------------------------
  async function notificationsView() {
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

  // ---- assets and the player --------------------------------------------------------------------------------
  async function assetsView() {
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

  const sourceDuration = (n) =>
    n.source.durationMillis ?? Math.max(0, ...n.outputs.map((o) => o.durationMillis || 0));

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

  async function assetView(assetId) {
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
    const video = h('video', { id: 'video', controls: true, muted: true, playsinline: true });
    const quality = h('select', { id: 'quality', title: 'quality' }, h('option', { value: '-1' }, 'Auto'));
    const tokenBox = h('div', { class: 'token', id: 'token' });
    const notice = h('div', { id: 'notice' });
    const p = {
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
    window.__console.player = p;
    state.player = p;

    const renderToken = (status) => {
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
    };
    const refreshStatus = async () => {
      if (!p.issued) return;
      const status = await api(`assets/${assetId}/token-status`, { token: p.issued.token }).catch(() => null);
      p.tokenStatus = status;
      renderToken(status);
    };
    const showProblem = (reason, where) => {
      p.state = 'failed';
      p.reason = reason;
      notice.replaceChildren(
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
              { class: 'primary', id: 'new-token', onclick: () => start(true) },
              'Get a new token and play',
            ),
          ),
        ),
      );
    };

    const load = () => {
      if (p.hls) p.hls.destroy();
      p.state = 'loading';
      p.reason = null;
      notice.replaceChildren();
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
      // The key service explains a refusal in its response body ({"error": reason}); hls.js drops the body before it
      // reports the error, so a thin loader keeps the reason of the last refused request.
      const Base = Hls.DefaultConfig.loader;
      class ReasonLoader extends Base {
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
      }
      const hls = new Hls({
        loader: ReasonLoader,
        keyLoadPolicy: policy(2),
        manifestLoadPolicy: policy(2),
        playlistLoadPolicy: policy(2),
        fragLoadPolicy: policy(3),
      });
      p.hls = hls;
      hls.on(Hls.Events.KEY_LOADING, () => {
        p.requests.key += 1;
      });
      hls.on(Hls.Events.KEY_LOADED, () => {
        p.keyLoads.push({ ok: true });
        refreshStatus();
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
        showProblem(reason, where);
        refreshStatus();
      });
      hls.loadSource(p.issued.playUrl);
      hls.attachMedia(video);
    };
    const start = async (fresh) => {
      if (fresh || !p.issued) {
        p.issued = await api(`assets/${assetId}/token`, { ttlSeconds: 600, maxUses: 1 });
        renderToken();
      }
      load();
    };
    video.addEventListener('timeupdate', () => {
      p.currentTime = video.currentTime;
    });
    quality.addEventListener('change', () => {
      if (p.hls) p.hls.currentLevel = Number(quality.value);
    });

    const renditions = h(
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
    main.replaceChildren(
      h('div', {}, h('a', { href: '#/assets' }, '← Assets')),
      h('h1', {}, n.source.key),
      h(
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
      ),
      h(
        'div',
        { class: 'player' },
        h(
          'div',
          {},
          video,
          h(
            'div',
            { class: 'controls' },
            h('button', { class: 'primary', id: 'play-new', onclick: () => start(true) }, 'New token & play'),
            h(
              'button',
              {
                id: 'reuse',
                onclick: () => start(false),
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
          renditions,
        ),
      ),
    );
    window.__console.ready = true;
    await start(true);
    state.timer = setInterval(() => renderToken(p.tokenStatus), 1000);
  }

  async function route() {
    const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    const view = parts[0] || 'executions';
    window.__console.ready = false;
    if (state.player?.hls) {
      state.player.hls.destroy();
      state.player.hls = null;
    }
    for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.nav === view);
    try {
      if (view === 'executions' && parts[1]) await executionView(parts[1]);
      else if (view === 'notifications') await notificationsView();
      else if (view === 'assets' && parts[1]) await assetView(parts[1]);
      else if (view === 'assets') await assetsView();
      else await executionsView();
    } catch (e) {
      main.replaceChildren(
        h('div', { class: 'notice bad' }, h('b', {}, 'The console could not load this page'), e.message),
      );
    }
  }
  window.addEventListener('hashchange', route);
  route();
})();
