/**
 * The CLI and scripts run on the project's pinned Node whichever Node starts them (bin/project-node.js): started by
 * another Node (the machine's own, e.g. Node 20), they re-run on the pinned one with their exit code, signals and
 * death passed through.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { decide, meetsMinimum, projectNodePath } from '../../bin/project-node.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'project-node', 'signals.js');
const PINNED = projectNodePath();
const PINNED_VERSION = `v${(JSON.parse(readFileSync(join(PINNED, '..', '..', 'package.json'), 'utf8')) as { version: string }).version}`;

/** A Node on this machine that is not the pinned one (the system's), if there is one. */
function otherNode(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('node_modules'));
  for (const dir of [...dirs, '/usr/bin', '/usr/local/bin']) {
    const candidate = join(dir, 'node');
    if (existsSync(candidate) && realpathSync(candidate) !== realpathSync(PINNED)) return candidate;
  }
  return undefined;
}

const OTHER = otherNode();

interface Started {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  nextLine: () => Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(node: string, args: string[]): Started {
  // A process group of its own, as a shell gives a job, so the test can signal "the terminal's job".
  const child = spawn(node, [FIXTURE, ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      lines.push(JSON.parse(buffered.slice(0, i)) as Record<string, unknown>);
      buffered = buffered.slice(i + 1);
      waiters.shift()?.();
    }
  });
  let read = 0;
  const nextLine = async () => {
    if (read >= lines.length) await new Promise<void>((r) => waiters.push(r));
    return lines[read++] ?? {};
  };
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => {
      // A line that never comes reads as an empty report, so the assertion shows what happened.
      for (const waiter of waiters.splice(0)) waiter();
      r({ code, signal });
    }),
  );
  return { child, lines, nextLine, exited };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the pinned Node decision', () => {
  it('goes on, re-runs or refuses by the running Node and the pinned one', () => {
    // Act
    const onPinned = decide({ pinned: PINNED, pinnedExists: true, execPath: PINNED, version: 'v22.23.3' });
    const onOther = decide({
      pinned: PINNED,
      pinnedExists: true,
      execPath: '/usr/bin/node',
      version: 'v24.1.0',
    });
    const noPinnedNew = decide({ pinned: '/none', pinnedExists: false, execPath: '/x', version: 'v22.5.0' });
    const noPinnedOld = decide({ pinned: '/none', pinnedExists: false, execPath: '/x', version: 'v22.4.1' });

    // Assess
    expect([onPinned, onOther, noPinnedNew, noPinnedOld]).toEqual([
      'continue',
      'rerun',
      'continue',
      'too-old',
    ]);
    expect([meetsMinimum('v20.20.2'), meetsMinimum('v23.0.0'), meetsMinimum('22.5.1')]).toEqual([
      false,
      true,
      true,
    ]);
  });

  it('runs these tests on the pinned Node', () => {
    // Assess
    expect(process.version).toBe(PINNED_VERSION);
    expect(realpathSync(process.execPath)).toBe(realpathSync(PINNED));
  });
});

(OTHER ? describe : describe.skip)(`started by another Node (${OTHER ?? 'none on this machine'})`, () => {
  const other = OTHER ?? '';

  it('prints the CLI version from the pinned Node', () => {
    // Act
    const out = execFileSync(other, [join(ROOT, 'bin', 'secure-transcode.js'), '--version'], {
      encoding: 'utf8',
    });

    // Assess
    expect(out).toContain(`on Node ${PINNED_VERSION} (`);
  });

  it('re-runs on the pinned Node and exits with its exit code', async () => {
    // Act
    const run = start(other, ['exit', '7']);
    const first = await run.nextLine();
    const exit = await run.exited;

    // Assess
    expect(first.version).toBe(PINNED_VERSION);
    expect(first.pid).not.toBe(run.child.pid);
    expect(exit).toEqual({ code: 7, signal: null });
  });

  it('passes a SIGTERM sent to it on once, and exits as the re-run process did', async () => {
    // Prepare
    const run = start(other, ['count']);
    await run.nextLine();

    // Act
    run.child.kill('SIGTERM');
    const report = await run.nextLine();
    const exit = await run.exited;

    // Assess
    expect(report.got).toEqual(['SIGTERM']);
    expect(exit).toEqual({ code: 0, signal: null });
  });

  it("delivers a Ctrl-C to the job's process group once, not twice", async () => {
    // Prepare
    const run = start(other, ['count']);
    await run.nextLine();

    // Act
    process.kill(-(run.child.pid ?? 0), 'SIGINT');
    const report = await run.nextLine();
    await run.exited;

    // Assess
    expect(report.got).toEqual(['SIGINT']);
  });

  it('dies of the signal that killed the re-run process', async () => {
    // Prepare
    const run = start(other, ['wait']);
    const first = await run.nextLine();

    // Act
    run.child.kill('SIGTERM');
    const exit = await run.exited;

    // Assess
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    expect(alive(Number(first.pid))).toBe(false);
  });

  it('takes the re-run process with it when it is killed with SIGKILL', async () => {
    // Prepare
    const run = start(other, ['wait']);
    const pid = Number((await run.nextLine()).pid);

    // Act
    process.kill(-(run.child.pid ?? 0), 'SIGKILL');
    await run.exited;
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

    // Assess
    expect(alive(pid)).toBe(false);
  });
});
