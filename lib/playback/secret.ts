/**
 * The token HMAC secret. In the cloud it is an SSM SecureString; a Secrets Manager secret works through the same
 * call by naming it `/aws/reference/secretsmanager/<secret-id>` (SSM's documented pass-through), so one client
 * covers both. Locally it is a 0600 file in the data directory, created on first use.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { TokenSecretSource } from '../config/playback.js';
import { ConfigurationError } from '../errors.js';

const SECRET_BYTES = 32;

/** The stored text is used as given when it is long enough; a base64 value is decoded to its bytes. */
function secretBytes(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const decoded = /^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : Buffer.alloc(0);
  const bytes = decoded.length >= SECRET_BYTES ? decoded : Buffer.from(trimmed, 'utf8');
  if (bytes.length < SECRET_BYTES) {
    throw new ConfigurationError(`Token secret in ${where} is shorter than ${SECRET_BYTES} bytes`, {
      code: 'CONFIGURATION',
    });
  }
  return bytes;
}

export async function loadSecretParameter(ssm: SSMClient, name: string): Promise<string> {
  const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
  const value = out.Parameter?.Value;
  if (!value) throw new ConfigurationError(`SSM parameter ${name} is empty`, { code: 'CONFIGURATION' });
  return value;
}

/** Creates the local secret file (owner-only) unless it exists; never overwrites a secret already there. */
export async function ensureSecretFile(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const handle = await open(path, 'wx', 0o600).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') return undefined;
    throw e;
  });
  if (!handle) return;
  try {
    await handle.writeFile(`${randomBytes(SECRET_BYTES).toString('base64')}\n`);
  } finally {
    await handle.close();
  }
}

async function readSecretFile(path: string): Promise<Buffer> {
  const s = await stat(path);
  // A secret other local users can read lets them mint tokens: refuse it like ssh refuses a loose private key.
  if ((s.mode & 0o077) !== 0) {
    throw new ConfigurationError(
      `Token secret file ${path} must not be readable by group or others (chmod 600)`,
      {
        code: 'CONFIGURATION',
      },
    );
  }
  return secretBytes(await readFile(path, 'utf8'), path);
}

export async function loadTokenSecret(source: TokenSecretSource, ssm: SSMClient): Promise<Buffer> {
  if (source.kind === 'file') return readSecretFile(source.path);
  return secretBytes(await loadSecretParameter(ssm, source.name), `SSM parameter ${source.name}`);
}
