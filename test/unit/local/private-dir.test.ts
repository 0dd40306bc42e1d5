/**
 * The data-directory check: who owns the directory, what is in it and what is above it. Cases that need files owned
 * by someone else chown them to an unused uid, which only root can do (CI runs as root); the mode cases run as anyone.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import {
  checkPrivateDataDir,
  checkPrivateFile,
  openPrivateDataDir,
  UnsafeDataDirError,
} from '../../../local/private-dir.js';

const mode = (p: string) => statSync(p).mode & 0o7777;
/** A uid no account uses: only root can give a file to it. */
const STRANGER = 54_321;
const IS_ROOT = process.geteuid?.() === 0;

describe('the private data directory check', () => {
  let work: string;
  let dataDir: string;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'st-private-dir-'));
    dataDir = join(work, 'data');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('creates a missing data directory 0700 and returns its real path', () => {
    // Prepare
    symlinkSync(work, join(work, 'link'));

    // Act
    const opened = openPrivateDataDir(join(work, 'link', 'data'));

    // Assess
    expect(opened).toBe(dataDir);
    expect(mode(dataDir)).toBe(0o700);
  });

  it('tightens entries others can read but not write, everywhere under the directory', () => {
    // Prepare
    mkdirSync(join(dataDir, 'kms', 'keys'), { recursive: true });
    writeFileSync(join(dataDir, 'kms', 'keys', 'k.json'), '{}');
    writeFileSync(join(dataDir, 'ports.json'), '{}');
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'kms'), 0o750);
    chmodSync(join(dataDir, 'kms', 'keys', 'k.json'), 0o644);
    chmodSync(join(dataDir, 'ports.json'), 0o604);

    // Act
    openPrivateDataDir(dataDir);

    // Assess
    expect(
      [
        dataDir,
        join(dataDir, 'kms'),
        join(dataDir, 'kms', 'keys', 'k.json'),
        join(dataDir, 'ports.json'),
      ].map(mode),
    ).toEqual([0o700, 0o700, 0o600, 0o600]);
  });

  it.each([
    ['the data directory is world-writable', '.', 0o777],
    ['the data directory is group-writable', '.', 0o770],
    ['a file inside is group-writable', 'credentials.json', 0o620],
    ['a nested file is world-writable', 'kms/keys/k.json', 0o666],
    ['a nested directory is world-writable with the sticky bit', 'kms', 0o1777],
  ])('refuses when %s', (_what, entry, loose) => {
    // Prepare
    mkdirSync(join(dataDir, 'kms', 'keys'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'credentials.json'), '{}', { mode: 0o600 });
    writeFileSync(join(dataDir, 'kms', 'keys', 'k.json'), '{}', { mode: 0o600 });
    chmodSync(join(dataDir, entry), loose);

    // Act
    const open = () => openPrivateDataDir(dataDir);

    // Assess
    expect(open).toThrow(UnsafeDataDirError);
    expect(open).toThrow(/writable by group or others .*chmod -R go-w/);
    expect(() => checkPrivateDataDir(dataDir)).toThrow(UnsafeDataDirError);
  });

  it('refuses a parent others can write without the sticky bit, and creates nothing in it', () => {
    // Prepare
    chmodSync(work, 0o777);

    // Act
    const open = () => openPrivateDataDir(join(dataDir, 'nested'));

    // Assess
    expect(open).toThrow(new RegExp(`${work}, above it, is writable by group or others \\(mode 0777\\)`));
    expect(existsSync(dataDir)).toBe(false);
  });

  it('accepts a world-writable parent with the sticky bit, as /tmp', () => {
    // Prepare
    chmodSync(work, 0o1777);

    // Act
    const opened = openPrivateDataDir(dataDir);

    // Assess
    expect(opened).toBe(dataDir);
  });

  it('leaves a missing directory missing when only reading it', () => {
    // Act
    const checked = checkPrivateDataDir(dataDir);

    // Assess
    expect(checked).toBe(dataDir);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('refuses a secret file others can write', () => {
    // Prepare
    openPrivateDataDir(dataDir);
    const secret = join(dataDir, 'token-secret');
    writeFileSync(secret, 'x', { mode: 0o600 });
    chmodSync(secret, 0o622);

    // Act
    const check = () => checkPrivateFile(secret);

    // Assess
    expect(check).toThrow(new RegExp(`Refusing secret file ${secret}: .*writable by group or others`));
  });
});

(IS_ROOT ? describe : describe.skip)(
  'the private data directory check against files of another uid (chown needs root)',
  () => {
    let work: string;
    let dataDir: string;

    beforeEach(() => {
      work = mkdtempSync(join(tmpdir(), 'st-private-dir-'));
      dataDir = join(work, 'data');
      mkdirSync(join(dataDir, 'playback'), { recursive: true, mode: 0o700 });
      writeFileSync(join(dataDir, 'credentials.json'), '{}', { mode: 0o600 });
      writeFileSync(join(dataDir, 'playback', 'token-secret'), 'x', { mode: 0o600 });
    });
    afterEach(() => rmSync(work, { recursive: true, force: true }));

    it.each([
      ['the data directory', '.'],
      ['credentials.json', 'credentials.json'],
      ['a nested directory', 'playback'],
      ['a nested file', 'playback/token-secret'],
    ])('refuses when %s belongs to another uid', (_what, entry) => {
      // Prepare
      chownSync(join(dataDir, entry), STRANGER, STRANGER);

      // Act
      const open = () => openPrivateDataDir(dataDir);

      // Assess
      expect(open).toThrow(UnsafeDataDirError);
      expect(open).toThrow(new RegExp(`belongs to uid ${STRANGER}, not to you \\(uid 0.*Remove `));
    });

    it('refuses a parent of another non-root uid even when only its owner can write it', () => {
      // Prepare
      chownSync(work, STRANGER, STRANGER);
      chmodSync(work, 0o755);

      // Act
      const open = () => openPrivateDataDir(dataDir);

      // Assess
      expect(open).toThrow(new RegExp(`${work}, above it, belongs to uid ${STRANGER}, who could replace it`));
    });

    it('refuses a sticky world-writable parent that another non-root uid owns (its owner may rename anything)', () => {
      // Prepare
      chownSync(work, STRANGER, STRANGER);
      chmodSync(work, 0o1777);

      // Act
      const open = () => openPrivateDataDir(join(work, 'fresh'));

      // Assess
      expect(open).toThrow(UnsafeDataDirError);
      expect(existsSync(join(work, 'fresh'))).toBe(false);
    });

    it("refuses a path through another uid's symbolic link", () => {
      // Prepare
      const link = join(work, 'link');
      symlinkSync(dataDir, link);
      lchownSync(link, STRANGER, STRANGER);

      // Act
      const open = () => openPrivateDataDir(link);

      // Assess
      expect(open).toThrow(new RegExp(`${link} is a symbolic link that belongs to uid ${STRANGER}`));
    });

    it('refuses a secret file of another uid', () => {
      // Prepare
      const secret = join(dataDir, 'playback', 'token-secret');
      chownSync(secret, STRANGER, STRANGER);

      // Act
      const check = () => checkPrivateFile(secret);

      // Assess
      expect(check).toThrow(new RegExp(`Refusing secret file ${secret}: .*belongs to uid ${STRANGER}`));
    });

    it('accepts root-owned parents and its own files', () => {
      // Act
      const opened = openPrivateDataDir(dataDir);

      // Assess
      expect(opened).toBe(dataDir);
      expect(statSync(join(work, '..')).uid).toBe(0);
    });
  },
);
