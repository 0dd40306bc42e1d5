/**
 * The stack's credentials as a user meets them: created once per data directory, owner-only, printed as shell
 * exports by `secure-transcode credentials`, replaced by `--rotate`.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { runCredentialsCommand } from '../../../local/cli/credentials.js';
import { CredentialsFileError, loadOrCreateCredentials } from '../../../local/stack/credentials.js';
import { captureIo } from '../../support/cli-io.js';

const run = promisify(execFile);

async function credentialsCommand(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = captureIo();
  const code = await runCredentialsCommand(argv, io);
  return { code, out: out(), err: err() };
}

describe('stack credentials in the data directory', () => {
  let work: string;
  let dataDir: string;
  const mode = (p: string) => statSync(p).mode & 0o777;

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'st-credentials-'));
    dataDir = join(work, 'data');
  });
  afterEach(() => rmSync(work, { recursive: true, force: true }));

  it('creates random keys once, owner-only, and reads the same keys afterwards', () => {
    // Act
    const first = loadOrCreateCredentials(dataDir);
    const again = loadOrCreateCredentials(dataDir);
    const elsewhere = loadOrCreateCredentials(join(work, 'other'));

    // Assess
    expect(again).toEqual(first);
    expect(elsewhere.accessKeyId).not.toBe(first.accessKeyId);
    expect(elsewhere.secretAccessKey).not.toBe(first.secretAccessKey);
    expect([mode(dataDir), mode(join(dataDir, 'credentials.json'))]).toEqual([0o700, 0o600]);
  });

  it('tightens a credentials file or data directory whose mode was loosened', () => {
    // Prepare
    const created = loadOrCreateCredentials(dataDir);
    chmodSync(join(dataDir, 'credentials.json'), 0o644);
    chmodSync(dataDir, 0o755);

    // Act
    const read = loadOrCreateCredentials(dataDir);

    // Assess
    expect(read).toEqual(created);
    expect([mode(dataDir), mode(join(dataDir, 'credentials.json'))]).toEqual([0o700, 0o600]);
  });

  it('refuses a damaged credentials file and names the way out', () => {
    // Prepare
    loadOrCreateCredentials(dataDir);
    writeFileSync(join(dataDir, 'credentials.json'), '{"accessKeyId":"local","secretAccessKey":"local"}');

    // Act
    const read = () => loadOrCreateCredentials(dataDir);

    // Assess
    expect(read).toThrow(CredentialsFileError);
    expect(read).toThrow(/rotate to replace it/);
  });

  it('prints shell exports that eval sets, and --rotate replaces the keys', async () => {
    // Prepare
    const before = loadOrCreateCredentials(dataDir);

    // Act
    const printed = await credentialsCommand(['--data-dir', dataDir]);
    const { stdout } = await run('/bin/sh', [
      '-c',
      `${printed.out}\nprintf '%s %s %s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_DEFAULT_REGION"`,
    ]);
    const rotated = await credentialsCommand(['--rotate', '--json', '--data-dir', dataDir]);
    const after = JSON.parse(rotated.out) as { accessKeyId: string; secretAccessKey: string; region: string };

    // Assess
    expect(printed.code).toBe(0);
    expect(stdout).toBe(`${before.accessKeyId} ${before.secretAccessKey} us-east-1`);
    expect(rotated.code).toBe(0);
    expect(after.accessKeyId).not.toBe(before.accessKeyId);
    expect(after.secretAccessKey).not.toBe(before.secretAccessKey);
    expect(loadOrCreateCredentials(dataDir)).toEqual({
      accessKeyId: after.accessKeyId,
      secretAccessKey: after.secretAccessKey,
    });
    expect(JSON.parse(readFileSync(join(dataDir, 'credentials.json'), 'utf8')).secretAccessKey).toBe(
      after.secretAccessKey,
    );
    expect(mode(join(dataDir, 'credentials.json'))).toBe(0o600);
    expect(rotated.err).toContain('New credentials written');
  });
});
