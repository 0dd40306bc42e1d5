/**
 * A second local user tries to give the stack keys they know, the way the attack works on a shared machine: they
 * create the data directory first (under /tmp), plant credentials.json in a directory the owner left world-writable,
 * or own a directory above it. The owner then runs the real CLI (`credentials`, `up`, `token`), which must refuse
 * and say what to do, and the owner's own data directory must still work with every file 0600 and directory 0700.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createSecondUser, type SecondUser, secondUserUnavailable } from '../../support/second-user.js';
import { exited, startUp, stopUp, until } from '../../support/stack-process.js';

const CLI = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'secure-transcode.js');
const unavailable = secondUserUnavailable();

/** The planted keys: valid in shape, so only the ownership check can refuse them. */
const PLANTED = {
  accessKeyId: 'AKIAPLANTEDBYANOTHERUSER',
  secretAccessKey: 'planted-secret-that-the-other-user-knows-0123456789',
  createdAt: '2026-01-01T00:00:00.000Z',
};

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as users run it; a command still running after `timeoutMs` is killed and reported as such. */
function cli(args: string[], timeoutMs = 60_000): Promise<Outcome> {
  const child: ChildProcess = spawn(process.execPath, [CLI, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'ERROR' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const timer = setTimeout(() => {
    stderr += `\n[still running after ${timeoutMs} ms: killed by the test]`;
    if (child.pid) process.kill(-child.pid, 'SIGKILL');
  }, timeoutMs);
  return exited(child).then(() => {
    clearTimeout(timer);
    return { code: child.exitCode, stdout, stderr };
  });
}

/** Every entry under `root` with its permission bits and owner, relative paths. */
function tree(root: string): Array<{ path: string; kind: 'dir' | 'file'; mode: number; uid: number }> {
  const out: Array<{ path: string; kind: 'dir' | 'file'; mode: number; uid: number }> = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      out.push({
        path: path.slice(root.length + 1),
        kind: st.isDirectory() ? 'dir' : 'file',
        mode: st.mode & 0o7777,
        uid: st.uid,
      });
      if (st.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out;
}

(unavailable ? describe.skip : describe)(
  `a data directory another local user prepared${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let other: SecondUser;
    const made: string[] = [];
    /** A fresh path directly under /tmp (sticky, root's), as a user picking `--data-dir /tmp/...` would have. */
    const tmpPath = (what: string) => {
      const path = `/tmp/st-datadir-${what}-${process.pid}-${Date.now()}`;
      made.push(path);
      return path;
    };
    const plant = (dir: string) =>
      other.run(['sh', '-c', `printf '%s' '${JSON.stringify(PLANTED)}' > "${dir}/credentials.json"`]);

    beforeAll(async () => {
      other = await createSecondUser('st-dd-');
    });
    afterAll(() => {
      for (const path of made) rmSync(path, { recursive: true, force: true });
      other?.remove();
    });

    it('refuses a data directory the other user created first, with their keys in it', async () => {
      // Prepare
      const dataDir = tmpPath('seized');
      other.run(['mkdir', '-m', '0700', dataDir]);
      plant(dataDir);

      // Act
      const credentials = await cli(['credentials', '--json', '--data-dir', dataDir]);
      const up = await cli(['up', '--fast', '--data-dir', dataDir]);
      const token = await cli(['token', 'some-asset', '--data-dir', dataDir]);

      // Assess
      for (const outcome of [credentials, up, token]) {
        expect(outcome.stderr).toContain(
          `Refusing data directory ${dataDir}: ${dataDir} belongs to uid ${other.uid} (${other.name}), not to you`,
        );
        expect(outcome.stderr).toContain(`Remove ${dataDir} (as its owner or root)`);
        expect(outcome.stderr).not.toMatch(/\n\s+at /);
        expect(outcome.code).toBe(1);
        expect(outcome.stdout).not.toContain(PLANTED.secretAccessKey);
      }
    }, 180_000);

    it('refuses keys planted in a directory the owner made world-writable, and works once the owner cleans it', async () => {
      // Prepare
      const dataDir = tmpPath('shared');
      mkdirSync(dataDir);
      chmodSync(dataDir, 0o777);
      plant(dataDir);

      // Act
      const refused = await cli(['credentials', '--json', '--data-dir', dataDir]);
      chmodSync(dataDir, 0o700);
      const stillRefused = await cli(['credentials', '--json', '--data-dir', dataDir]);
      rmSync(join(dataDir, 'credentials.json'));
      const cleaned = await cli(['credentials', '--json', '--data-dir', dataDir]);

      // Assess
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${dataDir} is writable by group or others (mode 0777)`);
      expect(refused.stderr).toContain(`chmod -R go-w ${dataDir}`);
      expect(stillRefused.code).toBe(1);
      expect(stillRefused.stderr).toContain(
        `${dataDir}/credentials.json belongs to uid ${other.uid} (${other.name}), not to you`,
      );
      expect([refused.stdout, stillRefused.stdout].join('')).not.toContain(PLANTED.secretAccessKey);
      expect(cleaned.code).toBe(0);
      const keys = JSON.parse(cleaned.stdout) as { accessKeyId: string; secretAccessKey: string };
      expect(keys.accessKeyId).toMatch(/^AKIA/);
      expect(keys.secretAccessKey).not.toBe(PLANTED.secretAccessKey);
    }, 180_000);

    it('refuses a data directory inside a directory the other user owns, and creates nothing there', async () => {
      // Prepare
      const parent = tmpPath('parent');
      other.run(['mkdir', '-m', '0755', parent]);
      const dataDir = join(parent, 'data');

      // Act
      const outcome = await cli(['credentials', '--data-dir', dataDir]);

      // Assess
      expect(outcome.code).toBe(1);
      expect(outcome.stderr).toContain(
        `${parent}, above it, belongs to uid ${other.uid} (${other.name}), who could replace it`,
      );
      expect(outcome.stderr).toContain('Use a data directory under one that only you (or root) can change');
      expect(existsSync(dataDir)).toBe(false);
    }, 180_000);

    it("runs on the owner's own directory under /tmp, writing files 0600 and directories 0700", async () => {
      // Prepare
      const dataDir = tmpPath('own');
      const credentials = await cli(['credentials', '--data-dir', dataDir]);
      let up: ChildProcess | undefined;

      // Act
      try {
        up = startUp(dataDir);
        await until('endpoints.json of the started stack', 120_000, () =>
          existsSync(join(dataDir, 'endpoints.json')) ? true : undefined,
        );
        await stopUp(up);
      } finally {
        await stopUp(up);
      }
      const entries = tree(dataDir);

      // Assess
      expect(credentials.code).toBe(0);
      expect(entries.map((e) => e.path)).toEqual(
        expect.arrayContaining(['credentials.json', 'ports.json', 'stack-state.json', 'kms', 'playback']),
      );
      expect(entries.filter((e) => e.uid !== process.geteuid?.())).toEqual([]);
      expect(entries.filter((e) => e.kind === 'dir' && e.mode !== 0o700)).toEqual([]);
      // The ffmpeg wrapper (setpriv --pdeathsig) has to be executable: owner-only all the same.
      const executable = (e: { path: string }) => e.path.endsWith('/ffmpeg-pdeathsig.sh');
      expect(entries.filter((e) => e.kind === 'file' && !executable(e) && e.mode !== 0o600)).toEqual([]);
      expect(entries.filter((e) => executable(e) && e.mode !== 0o700)).toEqual([]);
    }, 180_000);
  },
);
