/**
 * One stack per data directory: two would share KMS key files, executions and the S3 snapshot, and each would
 * overwrite the other's endpoints.json. The lock records the owner's pid, so a lock left by a crashed process is
 * recognised as stale and taken over instead of blocking forever.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class StackAlreadyRunningError extends Error {
  override readonly name = 'StackAlreadyRunningError';
}

interface LockContent {
  pid: number;
  startedAt: string;
}

// Locks held by this process: the pid alone cannot tell "mine, still running" from "mine, left over".
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function lockPath(dataDir: string): string {
  return join(dataDir, 'stack.lock');
}

export function readLock(dataDir: string): LockContent | undefined {
  try {
    const lock = JSON.parse(readFileSync(lockPath(dataDir), 'utf8')) as LockContent;
    const running = lock.pid === process.pid ? held.has(lockPath(dataDir)) : alive(lock.pid);
    return running ? lock : undefined;
  } catch {
    return undefined;
  }
}

export function acquireLock(dataDir: string): () => void {
  const path = lockPath(dataDir);
  const content = JSON.stringify({
    pid: process.pid,
    startedAt: new Date().toISOString(),
  } satisfies LockContent);
  try {
    writeFileSync(path, content, { flag: 'wx', mode: 0o600 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const owner = readLock(dataDir);
    if (owner) {
      throw new StackAlreadyRunningError(
        `A local stack is already running on ${dataDir} (pid ${owner.pid}, started ${owner.startedAt}). ` +
          'Stop it first (Ctrl-C in its terminal) or use another --data-dir.',
      );
    }
    writeFileSync(path, content, { mode: 0o600 });
  }
  held.add(path);
  return () => {
    held.delete(path);
    try {
      const lock = JSON.parse(readFileSync(path, 'utf8')) as LockContent;
      if (lock.pid === process.pid) unlinkSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  };
}
