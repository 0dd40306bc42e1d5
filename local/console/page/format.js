// How the console writes durations, sizes, bitrates, times and statuses.
import { h } from './dom.js';

export const duration = (ms) => {
  if (ms == null || ms < 0) return '–';
  if (ms < 1000) return `${ms} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min ${Math.round(sec - m * 60)} s`;
  const hr = Math.floor(m / 60);
  return hr < 48 ? `${hr} h ${m - hr * 60} min` : `${Math.floor(hr / 24)} d`;
};
export const age = (t) => `${duration(Date.now() - t)} ago`;
export const bytes = (n) =>
  n == null
    ? '–'
    : n < 1024
      ? `${n} B`
      : n < 1048576
        ? `${(n / 1024).toFixed(1)} KiB`
        : `${(n / 1048576).toFixed(1)} MiB`;
export const bitrate = (b) =>
  b == null ? '–' : b >= 1e6 ? `${(b / 1e6).toFixed(2)} Mb/s` : `${Math.round(b / 1000)} kb/s`;
export const pill = (status) => h('span', { class: `pill ${status}` }, status);
export const clock = (t) => new Date(t).toLocaleTimeString();

export const sourceDuration = (n) =>
  n.source.durationMillis ?? Math.max(0, ...n.outputs.map((o) => o.durationMillis || 0));
