/**
 * The stack's own access and secret keys. Every local endpoint verifies SigV4 against them, so they are the only
 * thing standing between the stack and other users of the machine (loopback is shared): they are random per data
 * directory, created on first use, and stored 0600 in a 0700 directory that no other user can have prepared (see
 * `private-dir.ts`). Rotation replaces them; running stacks hold
 * theirs in memory, so a rotation takes effect when the stack next starts.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { openPrivateDataDir } from '../private-dir.js';

export interface StackCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export const CREDENTIALS_FILE_NAME = 'credentials.json';
/** The one region the local stack signs and verifies for. */
export const LOCAL_REGION_NAME = 'us-east-1';

const CredentialsFileSchema = z
  .object({
    accessKeyId: z.string().regex(/^[A-Z0-9]{16,128}$/),
    secretAccessKey: z.string().min(40),
    createdAt: z.string(),
  })
  .strict();

export class CredentialsFileError extends Error {
  override readonly name = 'CredentialsFileError';
}

export function credentialsPath(dataDir: string): string {
  return join(dataDir, CREDENTIALS_FILE_NAME);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `AKIA…`-shaped (20 characters) so tools that validate the shape of an access key id accept it. */
function newCredentials(): StackCredentials {
  const id = [...randomBytes(16)].map((b) => BASE32[b % 32]).join('');
  return { accessKeyId: `AKIA${id}`, secretAccessKey: randomBytes(30).toString('base64') };
}

/** Writes `content` to `path` readable by the owner only, replacing any previous file atomically. */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  // A temp file left by a crash keeps its mode through writeFileSync: set it explicitly.
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/**
 * Reads the data directory's credentials, creating them on first use (or new ones when `rotate`), after checking that
 * no other user can have prepared the directory (UnsafeDataDirError otherwise).
 */
export function loadOrCreateCredentials(
  dataDir: string,
  options: { rotate?: boolean } = {},
): StackCredentials {
  return credentialsIn(openPrivateDataDir(dataDir), options);
}

/** `loadOrCreateCredentials` for a data directory `openPrivateDataDir` has already checked (the stack's start). */
export function credentialsIn(checkedDataDir: string, options: { rotate?: boolean } = {}): StackCredentials {
  const path = credentialsPath(checkedDataDir);
  if (!options.rotate) {
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      let parsed: z.infer<typeof CredentialsFileSchema>;
      try {
        parsed = CredentialsFileSchema.parse(JSON.parse(text));
      } catch (e) {
        throw new CredentialsFileError(
          `${path} is not a valid credentials file (${(e as Error).message.split('\n')[0]}); rotate to replace it.`,
        );
      }
      return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
    }
  }
  const created = newCredentials();
  writePrivateFile(path, `${JSON.stringify({ ...created, createdAt: new Date().toISOString() }, null, 2)}\n`);
  return created;
}
