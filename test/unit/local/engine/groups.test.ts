import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type HlsGroup, outputKeys, renameSegments } from '../../../../local/engine/groups.js';

const PLAYLIST = [
  '#EXTM3U',
  '#EXT-X-VERSION:3',
  '#EXTINF:6.000000,',
  'clip_hi00000.ts',
  '#EXTINF:2.500000,',
  'clip_hi00001.ts',
  '#EXT-X-ENDLIST',
  '',
].join('\n');

function group(folder: string): HlsGroup {
  const settings = { container: 'ts' as const, audio: { kbps: 96 } };
  return {
    type: 'hls',
    destination: { bucket: 'out', folder },
    master: 'clip',
    segmentSeconds: 6,
    segmentNames: { separator: '_', first: 1 },
    outputs: [
      { name: 'clip_hi', settings },
      { name: 'clip_lo', settings },
    ],
  };
}

describe('renameSegments', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'groups-test-'));
    await writeFile(join(dir, 'clip_hi.m3u8'), PLAYLIST);
    for (const f of ['clip_hi00000.ts', 'clip_hi00001.ts']) await writeFile(join(dir, f), f);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renames the segments and the playlist lines to <name><separator><n> counted from `first`', async () => {
    // Act
    const files = await renameSegments(
      dir,
      'clip_hi',
      ['clip_hi.m3u8', 'clip_hi00000.ts', 'clip_hi00001.ts'],
      {
        separator: '_',
        first: 1,
      },
    );

    // Assess
    expect(files).toEqual(['clip_hi.m3u8', 'clip_hi_00001.ts', 'clip_hi_00002.ts']);
    expect((await readdir(dir)).sort()).toEqual(['clip_hi.m3u8', 'clip_hi_00001.ts', 'clip_hi_00002.ts']);
    const playlist = await readFile(join(dir, 'clip_hi.m3u8'), 'utf8');
    expect(playlist).toContain('\nclip_hi_00001.ts\n');
    expect(playlist).toContain('\nclip_hi_00002.ts\n');
    expect(playlist).not.toContain('clip_hi00000.ts');
  });

  it("leaves ffmpeg's own names alone when asked for them", async () => {
    // Act
    const files = await renameSegments(dir, 'clip_hi', ['clip_hi00000.ts'], { separator: '', first: 0 });

    // Assess
    expect(files).toEqual(['clip_hi00000.ts']);
    expect(await readFile(join(dir, 'clip_hi.m3u8'), 'utf8')).toBe(PLAYLIST);
  });
});

describe('outputKeys', () => {
  it("names each output's playlist in its group's folder, in ladder order", () => {
    // Act & Assess
    expect(outputKeys([group('assets/a1'), group('')])).toEqual([
      'assets/a1/clip_hi.m3u8',
      'assets/a1/clip_lo.m3u8',
      'clip_hi.m3u8',
      'clip_lo.m3u8',
    ]);
  });
});
