/**
 * A second local Unix account for tests that play another user of the machine: created with `useradd`, commands run
 * as it with `runuser`, removed with `userdel`. Only root can do this (CI runs as root); `secondUserUnavailable`
 * says why not elsewhere, for the skip message.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const TOOLS = ['useradd', 'userdel', 'runuser'] as const;

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore', env: withSbin() }).status === 0;
}

/** useradd and friends live in sbin, which a non-login root shell may not have on PATH. */
function withSbin(): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` };
}

/** Why a second user cannot be created here, or undefined when it can. */
export function secondUserUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.geteuid?.() !== 0) return 'not running as root, so useradd is not allowed';
  const missing = TOOLS.filter((t) => !has(t));
  return missing.length > 0 ? `${missing.join(', ')} not installed` : undefined;
}

export interface SecondUser {
  name: string;
  uid: number;
  /** Runs `argv` as the second user; throws with its stderr when it fails. */
  run(argv: string[]): string;
  remove(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates a user with no home and no login shell; retries while another process holds the passwd lock. */
export async function createSecondUser(prefix: string): Promise<SecondUser> {
  const name = `${prefix}${process.pid}`.slice(0, 31);
  let lastError: unknown;
  for (let attempt = 0; attempt < 10; attempt++) {
    const made = spawnSync(
      'useradd',
      ['--no-create-home', '--shell', '/usr/sbin/nologin', '--user-group', name],
      { env: withSbin(), encoding: 'utf8' },
    );
    if (made.status === 0) {
      lastError = undefined;
      break;
    }
    lastError = new Error(`useradd ${name} failed (${made.status}): ${made.stderr}`);
    // Exit 10: /etc/passwd is locked by another useradd; 9: the name is taken (a run killed before cleaning up).
    if (made.status === 9) spawnSync('userdel', [name], { env: withSbin() });
    await sleep(300);
  }
  if (lastError) throw lastError;
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  return {
    name,
    uid,
    run: (argv) =>
      execFileSync('runuser', ['-u', name, '--', ...argv], {
        env: withSbin(),
        encoding: 'utf8',
        stdio: 'pipe',
      }),
    remove: () => {
      spawnSync('userdel', [name], { env: withSbin() });
    },
  };
}
