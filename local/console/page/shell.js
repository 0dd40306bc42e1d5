// What every view shares: the page's main area, the live indicator, the view state and the console API.
const TOKEN = new URLSearchParams(location.search).get('token') || '';
export const main = document.getElementById('main');
const live = document.getElementById('live');
export const state = { timer: null, player: null, graph: null, view: '' };
window.__console = { ready: false, player: null };

export async function api(path, body) {
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

export function every(ms, fn) {
  clearInterval(state.timer);
  const tick = () => fn().catch((e) => console.warn(e));
  state.timer = setInterval(tick, ms);
  return tick();
}
