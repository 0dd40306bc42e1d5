/**
 * `--backend` of `secure-transcode up` and `run`: MediaConvert by default (as deployed), Elastic Transcoder on
 * request, anything else refused with the list before any work starts. `up` runs as the binary a user starts, until
 * its banner names the transcoder, then stops on Ctrl-C (SIGINT).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { main } from '../../../local/cli/main.js';
import { captureIo } from '../../support/cli-io.js';

const BIN = resolve('bin', 'secure-transcode.js');

/** Starts `secure-transcode up`, returns its banner's transcoder line once it is up, then stops it with SIGINT. */
function upBanner(args: string[]): Promise<{ banner: string; code: number | null }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'up', '--fast', ...args], {
      env: { ...process.env, LOG_LEVEL: 'SILENT' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let banner = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      const line = stdout.split('\n').find((l) => l.includes('local stack is up'));
      if (line && !banner) {
        banner = line;
        child.kill('SIGINT');
      }
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (!banner) reject(new Error(`up exited ${code} before it was up: ${stderr}`));
      else resolvePromise({ banner, code });
    });
  });
}

describe('the --backend option of up and run', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-cli-backend-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['up', () => ['up', '--backend', 'handbrake', '--data-dir', join(dir, 'refused')]],
    [
      'run',
      () => ['run', join(dir, 'missing.mp4'), '--backend', 'handbrake', '--data-dir', join(dir, 'refused')],
    ],
  ])('%s refuses an unknown backend before doing anything, listing the backends', async (_command, argv) => {
    // Prepare
    const cap = captureIo();
    // Act
    const code = await main(argv(), cap.io);
    // Assess
    expect(code).toBe(2);
    expect(cap.err()).toContain('--backend must be mediaconvert or elastictranscoder, got "handbrake"');
  });

  it.each(['mediaconvert', 'elastictranscoder'])(
    'run accepts --backend %s and goes on to check its input',
    async (backend) => {
      // Prepare
      const cap = captureIo();
      const missing = join(dir, 'missing.mp4');
      // Act
      const code = await main(['run', missing, '--backend', backend, '--data-dir', join(dir, 'run')], cap.io);
      // Assess: past option parsing, the missing file is the error (exit 1), not the backend (exit 2)
      expect(code).toBe(1);
      expect(cap.err()).toContain(`File not found: ${missing}`);
    },
  );

  it.each([
    ['MediaConvert by default', [], 'mediaconvert'],
    ['Elastic Transcoder when asked', ['--backend', 'elastictranscoder'], 'elastictranscoder'],
  ])(
    'up starts the stack on %s',
    async (_what, args, expected) => {
      // Act
      const { banner, code } = await upBanner([...args, '--data-dir', join(dir, `up-${expected}`)]);
      // Assess
      expect(banner).toContain(`transcoder ${expected})`);
      expect(code).toBe(0);
    },
    90_000,
  );
});
