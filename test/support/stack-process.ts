/**
 * The stack as a user runs it in a terminal, for the kill-and-restart tests: `secure-transcode up --fast` in a
 * process group of its own, so that a test can SIGKILL the whole group (ffmpeg included) as a crash would, and the
 * waits a test needs around it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `secure-transcode up --fast` on `dataDir`, detached, with `env` over this process's environment. */
export function startUp(dataDir: string, env: Record<string, string> = {}): ChildProcess {
  return spawn(
    process.execPath,
    [join(ROOT, 'bin/secure-transcode.js'), 'up', '--fast', '--data-dir', dataDir],
    {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, LOG_LEVEL: 'ERROR', ...env },
    },
  );
}

/** Polls `probe` until it returns something other than undefined; throws naming `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await probe();
    if (found !== undefined) return found;
    await sleep(200);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => child.once('exit', () => r()));

/** Stops a stack startUp started (its whole process group, as Ctrl-C would) unless it has already ended. */
export async function stopUp(child: ChildProcess | undefined): Promise<void> {
  if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
  process.kill(-child.pid, 'SIGTERM');
  await exited(child);
}
