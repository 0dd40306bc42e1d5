/**
 * HLSv3 naming and the master playlist. Variant playlists are `<OutputKeyPrefix><Output.Key>.m3u8` with segments
 * `<OutputKeyPrefix><Output.Key>00000.ts`; the master is `<OutputKeyPrefix><Playlist.Name>.m3u8` and points at the
 * variants with URIs relative to itself, so the whole prefix can be copied or served from anywhere.
 */
import { posix } from 'node:path';
import type { Preset } from '@aws-sdk/client-elastic-transcoder';

export interface Variant {
  /** Output.Key, relative to OutputKeyPrefix. */
  key: string;
  preset: Preset;
  width?: number;
  height?: number;
  /** Peak bits per second over the segments. */
  bandwidth: number;
  /** RFC 6381 codecs of the streams actually written (probe.ts); the preset's are a fallback. */
  codecs?: string;
}

const PROFILE_IDC: Record<string, string> = { baseline: '42e0', main: '4d40', high: '6400' };

/** RFC 6381 codec strings: avc1.<profile_idc><constraint flags><level_idc>, AAC-LC as mp4a.40.2. */
export function codecsOf(preset: Preset): string {
  const codecs: string[] = [];
  const options = preset.Video?.CodecOptions;
  if (preset.Video) {
    const profile = PROFILE_IDC[options?.Profile ?? 'main'] ?? PROFILE_IDC.main;
    const level = Math.round(Number.parseFloat(options?.Level ?? '3.1') * 10);
    codecs.push(`avc1.${profile}${level.toString(16).padStart(2, '0')}`);
  }
  if (preset.Audio) codecs.push('mp4a.40.2');
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
    attrs.push(`CODECS="${v.codecs ?? codecsOf(v.preset)}"`);
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, relativeUri(`${playlistName}.m3u8`, `${v.key}.m3u8`));
  }
  return `${lines.join('\n')}\n`;
}
