import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { describeFfmpeg, parseVersion, selectFfmpeg } from '../../../../local/engine/ffmpeg.js';

/** A fake `ffmpeg` that only answers `-version`, in a directory of its own. */
async function fakeFfmpeg(root: string, name: string, versionLine: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  const file = join(dir, 'ffmpeg');
  await writeFile(file, `#!/bin/sh\necho "${versionLine}"\n`);
  await chmod(file, 0o755);
  return dir;
}

describe('ffmpeg selection', () => {
  let root: string;
  let modern: string;
  let old: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'st-ffmpeg-'));
    modern = await fakeFfmpeg(
      root,
      'modern',
      'ffmpeg version 5.1.9-0+deb12u1 Copyright (c) 2000-2026 the FFmpeg developers',
    );
    old = await fakeFfmpeg(
      root,
      'old',
      'ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright (c) 2000-2021 the FFmpeg developers',
    );
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('takes FFMPEG_PATH first, whatever is on PATH', async () => {
    // Act
    const chosen = await selectFfmpeg({ env: { FFMPEG_PATH: join(old, 'ffmpeg'), PATH: modern } });

    // Assess
    expect(chosen).toMatchObject({ path: join(old, 'ffmpeg'), source: 'FFMPEG_PATH', major: 4 });
  });

  it('takes an ffmpeg of version 5 or newer from PATH before the bundled build', async () => {
    // Act
    const chosen = await selectFfmpeg({ env: { PATH: `${join(root, 'missing')}:${modern}` } });

    // Assess
    expect(chosen).toMatchObject({
      path: join(modern, 'ffmpeg'),
      source: 'PATH',
      version: '5.1.9-0+deb12u1',
      major: 5,
    });
    expect(describeFfmpeg(chosen)).toBe(`ffmpeg 5.1.9-0+deb12u1 (${join(modern, 'ffmpeg')}, from PATH)`);
  });

  it('falls back to the bundled build when the ffmpeg on PATH is older than 5', async () => {
    // Act
    const chosen = await selectFfmpeg({ env: { PATH: `${old}:${modern}` } });

    // Assess
    expect(chosen).toMatchObject({ path: ffmpegInstaller.path, source: 'bundled' });
    expect(chosen.version).toMatch(/\(2018\)$/);
  });

  it('refuses an FFMPEG_PATH that is not an executable file, naming it', async () => {
    // Act & Assess
    await expect(selectFfmpeg({ env: { FFMPEG_PATH: join(root, 'nope'), PATH: modern } })).rejects.toThrow(
      `FFMPEG_PATH=${join(root, 'nope')} is not an executable file.`,
    );
  });

  it('reads release, Debian and git-snapshot version lines', () => {
    // Act & Assess
    expect(parseVersion('ffmpeg version n7.1 Copyright (c) 2000-2024 the FFmpeg developers')).toEqual({
      version: 'n7.1',
      major: 7,
    });
    expect(
      parseVersion(
        'ffmpeg version N-47683-g0e8eb07980-static https://johnvansickle.com/ffmpeg/  Copyright (c) 2000-2018',
      ),
    ).toEqual({ version: 'N-47683-g0e8eb07980-static (2018)' });
  });
});
