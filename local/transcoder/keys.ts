/**
 * Key handling as Elastic Transcoder does it: the job carries a KMS ciphertext blob and the MD5 of that blob
 * (not of the plaintext key — tutorial step 4), the blob is unwrapped through KMS with the service's encryption
 * context, and the plaintext key lives only in memory (and in a 0600 temp file while ffmpeg needs it).
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { sdkErrorInfo } from '../../lib/errors.js';
import { ELASTIC_TRANSCODER_CONTEXT } from '../../lib/kms/contexts.js';
import { JobFailure } from './errors.js';

export interface WrappedKey {
  /** base64 KMS CiphertextBlob */
  key: string;
  /** base64 MD5 of the CiphertextBlob bytes */
  keyMd5: string;
}

export function keyMd5(blob: Buffer): string {
  return createHash('md5').update(blob).digest('base64');
}

const KMS_SERVER_SIDE = new Set([
  'ThrottlingException',
  'KMSInternalException',
  'DependencyTimeoutException',
]);

/** Unwraps a job key. Any mismatch or refusal is error 4018; only KMS outages are internal errors. */
export async function unwrapKey(
  kms: KMSClient,
  wrapped: WrappedKey,
  kmsKeyArn: string | undefined,
): Promise<Buffer> {
  const blob = Buffer.from(wrapped.key, 'base64');
  const detail = `with MD5=${wrapped.keyMd5}.`;
  if (!Buffer.from(keyMd5(blob), 'base64').equals(Buffer.from(wrapped.keyMd5, 'base64'))) {
    throw new JobFailure(4018, detail);
  }
  const answer = await kms
    .send(
      new DecryptCommand({
        CiphertextBlob: blob,
        EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
        ...(kmsKeyArn ? { KeyId: kmsKeyArn } : {}),
      }),
    )
    .catch((e: unknown) => {
      const { name, status } = sdkErrorInfo(e);
      if (status !== undefined && status < 500 && !KMS_SERVER_SIDE.has(name))
        throw new JobFailure(4018, detail);
      throw new JobFailure(9000, `KMS is unavailable (${name}).`);
    });
  if (!answer.Plaintext) throw new JobFailure(4018, detail);
  return Buffer.from(answer.Plaintext);
}

const GCM_TAG_BYTES = 16;

/**
 * Decrypts a client-side encrypted input file. aes-cbc-pkcs7 is byte-compatible with `openssl enc -nosalt`;
 * aes-ctr uses the IV as the initial big-endian counter block; aes-gcm expects the 16-byte tag appended, the
 * placement Elastic Transcoder leaves undocumented.
 */
export async function decryptFile(
  src: string,
  dst: string,
  mode: string,
  key: Buffer,
  iv: Buffer,
): Promise<void> {
  if (![16, 24, 32].includes(key.length)) throw new JobFailure(4017);
  const bits = key.length * 8;
  const cipher = mode === 'aes-ctr' ? 'ctr' : mode === 'aes-gcm' ? 'gcm' : 'cbc';
  const decipher = createDecipheriv(`aes-${bits}-${cipher}`, key, iv);
  let end: number | undefined;
  if (cipher === 'gcm') {
    const { size } = await stat(src);
    if (size <= GCM_TAG_BYTES) throw new JobFailure(4016);
    const handle = await open(src, 'r');
    const tag = Buffer.alloc(GCM_TAG_BYTES);
    await handle.read(tag, 0, GCM_TAG_BYTES, size - GCM_TAG_BYTES).finally(() => handle.close());
    (decipher as ReturnType<typeof createDecipheriv> & { setAuthTag(t: Buffer): void }).setAuthTag(tag);
    end = size - GCM_TAG_BYTES - 1;
  }
  const source = end === undefined ? createReadStream(src) : createReadStream(src, { start: 0, end });
  await pipeline(source, decipher, createWriteStream(dst, { mode: 0o600 })).catch(() => {
    // OpenSSL's "bad decrypt" / "wrong final block length" / GCM tag failure: the key, IV or file do not match.
    throw new JobFailure(4016);
  });
}
