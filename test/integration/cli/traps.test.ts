/**
 * CLI traps a new user met, driven through the same `main` entry the `secure-transcode` binary runs: unknown
 * profiles, encrypt's path errors, consistent help texts, and no "s3://bucket/undefined" for a hand-made input.
 * The traps that need a running stack are in test/e2e/console.browser.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { main } from '../../../local/cli/main.js';
import { sourceOf } from '../../../local/cli/up.js';
import { exportDirName } from '../../../local/stack/exports.js';
import type { Notification } from '../../../local/stack/index.js';
import { captureIo } from '../../support/cli-io.js';

const KEY = '000102030405060708090a0b0c0d0e0f';
const IV = '0f0e0d0c0b0a09080706050403020100';

describe('the secure-transcode CLI', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-cli-traps-'));
    await writeFile(join(dir, 'clip.mp4'), Buffer.alloc(1000, 7));
    await writeFile(join(dir, 'key.hex'), KEY, { mode: 0o600 });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses an unknown --profile before doing anything, listing the profiles', async () => {
    // Prepare
    const cap = captureIo();
    // Act
    const code = await main(
      ['run', join(dir, 'missing.mp4'), '--profile', 'nosuch', '--data-dir', dir],
      cap.io,
    );
    // Assess
    expect(code).toBe(2);
    expect(cap.err()).toContain('unknown profile "nosuch"');
    expect(cap.err()).toMatch(/default, ctr, mobile/);
  });

  it.each([
    ['a missing source', () => [join(dir, 'nope.mp4'), join(dir, 'out.enc')], 'Source file not found'],
    ['a directory as source', () => [dir, join(dir, 'out.enc')], 'Source is not a file'],
    ['a directory as destination', () => [join(dir, 'clip.mp4'), dir], 'Destination is a directory'],
    [
      'a destination in a missing folder',
      () => [join(dir, 'clip.mp4'), join(dir, 'no', 'such', 'out.enc')],
      'Destination folder does not exist',
    ],
  ])('encrypt explains %s instead of a raw errno', async (_what, paths, message) => {
    // Prepare
    const cap = captureIo();
    // Act
    const code = await main(
      ['encrypt', ...paths(), '--key-file', join(dir, 'key.hex'), '--iv-hex', IV],
      cap.io,
    );
    // Assess
    expect(code).toBe(1);
    expect(cap.err()).toContain(message);
    expect(cap.err()).not.toMatch(/ENOENT|EISDIR|ENOTDIR/);
  });

  it.each(['run', 'up', 'status', 'token', 'play', 'encrypt', 'credentials'])(
    'prints the %s help in the shared layout',
    async (command) => {
      // Prepare
      const cap = captureIo();
      // Act
      const code = await main([command, '--help'], cap.io);
      // Assess
      expect(code).toBe(0);
      expect(cap.out()).toMatch(new RegExp(`^Usage: secure-transcode ${command}\\b`));
      expect(cap.out()).toContain('\nOptions:\n');
      expect(cap.out()).toMatch(/ {2}-h, --help +show this help/);
    },
  );

  it.each(['run', 'up', 'status', 'token', 'play', 'encrypt', 'credentials'])(
    'answers an unknown %s option with exit code 2 and a pointer to --help',
    async (command) => {
      // Prepare
      const cap = captureIo();
      // Act
      const code = await main([command, '--no-such-flag'], cap.io);
      // Assess
      expect(code).toBe(2);
      expect(cap.err()).toContain(`Run \`secure-transcode ${command} --help\` for usage.`);
    },
  );

  it('describes a hand-made execution input without inventing an S3 URI', () => {
    // Assess
    expect(sourceOf('{"hello":"world"}')).not.toContain('undefined');
    expect(sourceOf('{"source":{"bucket":"b","key":"incoming/a b.mp4"}}')).toBe('s3://b/incoming/a b.mp4');
  });

  it('names an export folder after the source file and the asset id', () => {
    // Prepare
    const n = { source: { key: 'incoming/My Holiday (2).MP4' } } as unknown as Notification;
    // Act
    const name = exportDirName(n, '3f2a9c0d1e4b5a6978c0d1e2');
    // Assess
    expect(name).toBe('My-Holiday-2-3f2a9c0d1e4b5a6978c0d1e2');
  });
});
