/**
 * HLSv3 playlists: the master points at each variant playlist `<key>.m3u8` with a URI relative to itself, so a whole
 * output folder can be copied or served from anywhere.
 */
import { posix } from 'node:path';
import type { RenditionSettings } from './settings.js';

export interface Variant {
  /** The variant playlist's name without `.m3u8`, relative to the folder the master sits in. */
  key: string;
  settings: RenditionSettings;
  width?: number;
  height?: number;
  /** Peak bits per second over the segments. */
  bandwidth: number;
  /** RFC 6381 codecs of the streams actually written (probe.ts); the settings' are a fallback. */
  codecs?: string;
}

const PROFILE_IDC: Record<string, string> = { baseline: '42e0', main: '4d40', high: '6400' };

/** RFC 6381 codec strings: avc1.<profile_idc><constraint flags><level_idc>, AAC-LC as mp4a.40.2. */
export function codecsOf(settings: RenditionSettings): string {
  const codecs: string[] = [];
  if (settings.video) {
    const profile = PROFILE_IDC[settings.video.profile] ?? PROFILE_IDC.main;
    const level = Math.round(Number.parseFloat(settings.video.level) * 10);
    codecs.push(`avc1.${profile}${level.toString(16).padStart(2, '0')}`);
  }
  if (settings.audio) codecs.push('mp4a.40.2');
  return codecs.join(',');
}

/** Peak segment bitrate from a variant playlist and the sizes of its segment files (the BANDWIDTH HLS asks for). */
export function peakBandwidth(variantPlaylist: string, segmentBytes: (uri: string) => number): number {
  const lines = variantPlaylist.split('\n').map((l) => l.trim());
  let peak = 0;
  lines.forEach((line, i) => {
    const seconds = /^#EXTINF:([\d.]+)/.exec(line)?.[1];
    const uri = lines[i + 1];
    if (!seconds || !uri || Number(seconds) <= 0) return;
    peak = Math.max(peak, Math.ceil((segmentBytes(uri) * 8) / Number(seconds)));
  });
  return peak;
}

/** The URIs a variant playlist names, in order. */
export function segmentUris(variantPlaylist: string): string[] {
  return variantPlaylist
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The URI of `target` as seen from the playlist at `from` (both relative to the same prefix). */
export function relativeUri(from: string, target: string): string {
  return posix.relative(posix.dirname(`/${from}`), `/${target}`);
}

export function masterPlaylist(playlistName: string, variants: Variant[]): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3'];
  for (const v of variants) {
    const attrs = [`BANDWIDTH=${v.bandwidth}`];
    if (v.width && v.height) attrs.push(`RESOLUTION=${v.width}x${v.height}`);
    attrs.push(`CODECS="${v.codecs ?? codecsOf(v.settings)}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, relativeUri(`${playlistName}.m3u8`, `${v.key}.m3u8`));
  }
  return `${lines.join('\n')}\n`;
}
