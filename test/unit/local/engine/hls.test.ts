import { describe, expect, it } from '@jest/globals';
import { placeIvs } from '../../../../local/engine/hls.js';

const KEY = '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.test/keys/a1"';
const iv = (n: number) => `0x${n.toString(16).padStart(32, '0')}`;
const header = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:4', '#EXT-X-MEDIA-SEQUENCE:0'];
const segments = (prefix: (n: number) => string[]) => [
  ...header,
  ...prefix(0),
  '#EXTINF:4.000000,',
  'index_00001.ts',
  ...prefix(1),
  '#EXTINF:4.000000,',
  'index_00002.ts',
  ...prefix(2),
  '#EXTINF:2.000000,',
  'index_00003.ts',
  '#EXT-X-ENDLIST',
  '',
];
/** ffmpeg 4 names no IV; ffmpeg 5 with periodic_rekey names each one. */
const FFMPEG_4 = segments((n) => (n === 0 ? [KEY] : [])).join('\n');
const FFMPEG_5 = segments((n) => [`${KEY},IV=${iv(n)}`]).join('\n');

describe('placeIvs', () => {
  it('with INCLUDE, names each segment its media sequence number in an EXT-X-KEY of its own', () => {
    // Act
    const placed = [FFMPEG_4, FFMPEG_5].map((p) => placeIvs(p, { include: true }));

    // Assess
    expect(placed).toEqual([FFMPEG_5, FFMPEG_5]);
  });

  it('with EXCLUDE, writes one EXT-X-KEY that names no IV', () => {
    // Act
    const placed = [FFMPEG_4, FFMPEG_5].map((p) => placeIvs(p, { include: false }));

    // Assess
    expect(placed).toEqual([FFMPEG_4, FFMPEG_4]);
  });

  it('counts from the playlist media sequence number', () => {
    // Prepare
    const playlist = FFMPEG_4.replace('#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-MEDIA-SEQUENCE:7');

    // Act
    const placed = placeIvs(playlist, { include: true });

    // Assess
    expect(placed.split('\n').filter((l) => l.startsWith('#EXT-X-KEY:'))).toEqual([
      `${KEY},IV=${iv(7)}`,
      `${KEY},IV=${iv(8)}`,
      `${KEY},IV=${iv(9)}`,
    ]);
  });

  it('names a ConstantInitializationVector once with INCLUDE and not at all with EXCLUDE', () => {
    // Prepare
    const constant = '0123456789abcdef0123456789abcdef';
    const engine = segments((n) => (n === 0 ? [`${KEY},IV=0x${constant}`] : [])).join('\n');

    // Act
    const included = placeIvs(engine, { include: true, constant: Buffer.from(constant, 'hex') });
    const excluded = placeIvs(engine, { include: false, constant: Buffer.from(constant, 'hex') });

    // Assess
    expect(included).toBe(engine);
    expect(excluded).toBe(FFMPEG_4);
  });

  it('leaves a playlist without encryption as it is', () => {
    // Prepare
    const clear = segments(() => []).join('\n');

    // Act & Assess
    expect(placeIvs(clear, { include: true })).toBe(clear);
  });
});
