import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { ConfigurationError } from '../../../lib/errors.js';
import { ensureSecretFile, loadTokenSecret } from '../../../lib/playback/secret.js';

const ssmMock = mockClient(SSMClient);
const ssm = new SSMClient({ region: 'eu-west-1' });

describe('token secret', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-secret-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    ssmMock.reset();
  });

  it('creates an owner-only 32-byte secret file once and never rewrites it', async () => {
    // Prepare
    const path = join(dir, 'nested', 'token-secret');

    // Act
    await ensureSecretFile(path);
    const first = await readFile(path, 'utf8');
    await ensureSecretFile(path);
    const loaded = await loadTokenSecret({ kind: 'file', path }, ssm);

    // Assess
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe(first);
    expect(loaded).toHaveLength(32);
    expect(ssmMock).not.toHaveReceivedCommand(GetParameterCommand);
  });

  it('refuses a secret file that group or others can read', async () => {
    // Prepare
    const path = join(dir, 'loose-secret');
    await writeFile(path, randomBytes(32).toString('base64'));
    await chmod(path, 0o644);

    // Act / Assess
    await expect(loadTokenSecret({ kind: 'file', path }, ssm)).rejects.toThrow(ConfigurationError);
  });

  it('reads an SSM SecureString with decryption', async () => {
    // Prepare
    const secret = randomBytes(48);
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: secret.toString('base64') } });

    // Act
    const loaded = await loadTokenSecret({ kind: 'ssm', name: '/st/token-secret' }, ssm);

    // Assess
    expect(loaded).toEqual(secret);
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/st/token-secret',
      WithDecryption: true,
    });
  });

  it('refuses a secret shorter than 32 bytes', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: 'too-short' } });

    await expect(loadTokenSecret({ kind: 'ssm', name: '/st/token-secret' }, ssm)).rejects.toThrow(
      /shorter than 32 bytes/,
    );
  });
});
