/**
 * The data directory holds the stack's keys (credentials, KMS key material, the token secret) and every piece of
 * state it trusts on the next start. Whoever can write there can give the stack keys they know, so the directory is
 * checked the way OpenSSH checks `~/.ssh` before anything in it is read:
 * - the directory and everything under it must belong to the current user and be writable by nobody else (a loose
 *   read bit is tightened: it leaks, but it cannot have let anyone plant anything);
 * - no directory above it may let another user swap it: each must belong to the current user or root and, when
 *   group- or world-writable, carry the sticky bit (as /tmp does), which stops others renaming what they do not own.
 * The whole tree is walked rather than a list of known files, so a file added to the data directory later is covered
 * without anyone remembering to list it. Once the checks pass nobody but the owner (and root) can change the
 * directory, so what the stack reads afterwards is what the checks saw. Paths are resolved to their real location
 * first, and callers use the returned real path, so a symbolic link cannot be re-pointed after the check.
 */
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  type Stats,
  statSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export class UnsafeDataDirError extends Error {
  override readonly name = 'UnsafeDataDirError';
}

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

/** The effective uid, or undefined where the platform has none (Windows): there is no owner to compare. */
function currentUid(): number | undefined {
  return process.geteuid?.();
}

/** `uid 1001 (alice)`: the name from /etc/passwd when there is one, for a message a person can act on. */
function describeUid(uid: number): string {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    const name = line?.split(':')[0];
    return name ? `uid ${uid} (${name})` : `uid ${uid}`;
  } catch {
    return `uid ${uid}`;
  }
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** `what` names what is refused: `data directory <path>` or `secret file <path>`. */
function refuse(what: string, problem: string, remedy: string): never {
  throw new UnsafeDataDirError(`Refusing ${what}: ${problem}. ${remedy}`);
}

const dirLabel = (path: string) => `data directory ${path}`;

const USE_ANOTHER =
  'Use a data directory under one that only you (or root) can change, e.g. in your home directory (--data-dir).';

/** Every directory above `path`, nearest first, up to and including the root. */
function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    out.push(dir);
    if (dirname(dir) === dir) return out;
  }
}

/** A directory above the data directory: only its owner or root may be able to rename entries in it. */
function checkAncestor(dir: string, what: string, uid: number): void {
  const st = statSync(dir);
  if (st.uid !== uid && st.uid !== 0) {
    refuse(what, `${dir}, above it, belongs to ${describeUid(st.uid)}, who could replace it`, USE_ANOTHER);
  }
  if ((st.mode & GROUP_OR_OTHER_WRITE) !== 0 && (st.mode & STICKY) === 0) {
    refuse(
      what,
      `${dir}, above it, is writable by group or others (mode ${octal(st.mode)}) without the sticky bit, so they could replace it`,
      USE_ANOTHER,
    );
  }
}

/**
 * A symbolic link on the way decides where the path leads: one that another user owns could point it at a directory
 * of theirs (the checks on the real path would refuse that too; this says why in plainer words).
 */
function checkLinksOnTheWay(path: string, what: string, uid: number): void {
  for (const p of [path, ...ancestorsOf(path)]) {
    const st = lstatOrUndefined(p);
    if (st?.isSymbolicLink() && st.uid !== uid && st.uid !== 0) {
      refuse(what, `${p} is a symbolic link that belongs to ${describeUid(st.uid)}`, USE_ANOTHER);
    }
  }
}

/** Something inside the data directory (or the directory itself): the owner's, writable by nobody else. */
function checkOwnEntry(path: string, st: Stats, what: string, uid: number, fix: string): void {
  if (st.uid !== uid) {
    refuse(
      what,
      `${path} belongs to ${describeUid(st.uid)}, not to you (${describeUid(uid)}), so the keys and state in it may be theirs`,
      `Remove ${path} (as its owner or root) and start again, or use another --data-dir.`,
    );
  }
  if (!st.isSymbolicLink() && (st.mode & GROUP_OR_OTHER_WRITE) !== 0) {
    refuse(
      what,
      `${path} is writable by group or others (mode ${octal(st.mode)}), so someone else may have put keys or state in it`,
      `If nobody else could have written to it, run \`chmod -R go-w ${fix}\`; otherwise remove it, or use another --data-dir.`,
    );
  }
}

/** Checks every entry under `root` (not following links); tightens entries that others can read. */
function checkTree(root: string, what: string, uid: number): void {
  const pending = [root];
  while (pending.length > 0) {
    const path = pending.pop() as string;
    const st = lstatOrUndefined(path);
    // Gone since its directory was listed (a running stack renames and removes files): nothing left to trust.
    if (!st) continue;
    checkOwnEntry(path, st, what, uid, root);
    if (st.isSymbolicLink()) continue;
    if ((st.mode & 0o077) !== 0) chmodSync(path, st.mode & 0o700);
    if (!st.isDirectory()) continue;
    let names: string[];
    try {
      names = readdirSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    for (const name of names) pending.push(join(path, name));
  }
}

/** The real path of the existing directory `path`, checked with all that is above it and under it. */
function checkExisting(path: string, uid: number): string {
  const what = dirLabel(path);
  const real = realpathSync(path);
  if (!statSync(real).isDirectory()) refuse(what, 'it is not a directory', 'Give --data-dir a directory.');
  for (const dir of ancestorsOf(real)) checkAncestor(dir, what, uid);
  checkTree(real, what, uid);
  return real;
}

/** The nearest existing path at or above `path`. */
function nearestExisting(path: string): string {
  let dir = path;
  while (!lstatOrUndefined(dir) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Creates the data directory (0700) when it is missing, refuses it when another user could have prepared or could
 * swap it (UnsafeDataDirError, saying what to do), and returns its real path, which the caller uses from then on.
 */
export function openPrivateDataDir(dataDir: string): string {
  const path = resolve(dataDir);
  const uid = currentUid();
  if (uid === undefined) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return path;
  }
  checkLinksOnTheWay(path, dirLabel(path), uid);
  // What exists above is checked before anything is created in it, so nothing is made where someone else holds sway.
  const existing = nearestExisting(path);
  if (existing !== path) {
    const real = realpathSync(existing);
    for (const dir of [real, ...ancestorsOf(real)]) checkAncestor(dir, dirLabel(path), uid);
  }
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return checkExisting(path, uid);
}

/**
 * For commands that only read the data directory (`token`, `play`, `status`, `encrypt`): the same checks, but a
 * missing directory stays missing (the command says what is absent). Returns the real path when it exists.
 */
export function checkPrivateDataDir(dataDir: string): string {
  const path = resolve(dataDir);
  const uid = currentUid();
  if (uid === undefined || !lstatOrUndefined(path)) return path;
  checkLinksOnTheWay(path, dirLabel(path), uid);
  return checkExisting(path, uid);
}

/**
 * A secret file named from elsewhere (the token secret endpoints.json points at): the current user's, writable by
 * nobody else, in directories nobody else can swap. A missing file is left for the reader to report.
 */
export function checkPrivateFile(file: string): void {
  const path = resolve(file);
  const what = `secret file ${path}`;
  const uid = currentUid();
  if (uid === undefined || !lstatOrUndefined(path)) return;
  checkLinksOnTheWay(path, what, uid);
  const real = realpathSync(path);
  checkOwnEntry(real, statSync(real), what, uid, real);
  for (const dir of ancestorsOf(real)) checkAncestor(dir, what, uid);
}

/**
 * While a stack runs, whatever it (or a library under it, or ffmpeg) creates is owner-only, whether or not the
 * writer names a mode: dynalite's LevelDB files and SQLite's journal do not. Returns the function restoring the mask.
 */
export function ownerOnlyUmask(): () => void {
  const previous = process.umask(0o077);
  return () => {
    process.umask(previous);
  };
}
