/**
 * Client-side encrypted inputs, decrypted into the job's private directory before ffmpeg reads them. The front-end
 * unwraps the key (each service has its own KMS encryption context); the engine only ever holds the plaintext key
 * in memory and zeroes it when the input is decrypted.
 */
import { createDecipheriv } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { EngineError } from './errors.js';

/** The three client-side modes both services take (under their own names). */
export type DecryptionMode = 'aes-cbc-pkcs7' | 'aes-ctr' | 'aes-gcm';

const GCM_TAG_BYTES = 16;

/**
 * Decrypts a client-side encrypted input file. aes-cbc-pkcs7 is byte-compatible with `openssl enc -nosalt`;
 * aes-ctr uses the IV as the initial big-endian counter block; aes-gcm expects the 16-byte tag appended, the
 * placement neither service documents.
 */
export async function decryptFile(
  src: string,
  dst: string,
  mode: DecryptionMode,
  key: Buffer,
  iv: Buffer,
): Promise<void> {
  if (![16, 24, 32].includes(key.length)) throw new EngineError('InvalidKeySize');
  const bits = key.length * 8;
  const cipher = mode === 'aes-ctr' ? 'ctr' : mode === 'aes-gcm' ? 'gcm' : 'cbc';
  const decipher = createDecipheriv(`aes-${bits}-${cipher}`, key, iv);
  let end: number | undefined;
  if (cipher === 'gcm') {
    const { size } = await stat(src);
    if (size <= GCM_TAG_BYTES) throw new EngineError('DecryptionFailed');
    const handle = await open(src, 'r');
    const tag = Buffer.alloc(GCM_TAG_BYTES);
    await handle.read(tag, 0, GCM_TAG_BYTES, size - GCM_TAG_BYTES).finally(() => handle.close());
    (decipher as ReturnType<typeof createDecipheriv> & { setAuthTag(t: Buffer): void }).setAuthTag(tag);
    end = size - GCM_TAG_BYTES - 1;
  }
  const source = end === undefined ? createReadStream(src) : createReadStream(src, { start: 0, end });
  await pipeline(source, decipher, createWriteStream(dst, { mode: 0o600 })).catch(() => {
    // OpenSSL's "bad decrypt" / "wrong final block length" / GCM tag failure: the key, IV or file do not match.
    throw new EngineError('DecryptionFailed');
  });
}
