/**
 * The local ciphertext blob: an authenticated envelope that names its key, so Decrypt works without KeyId (as in
 * AWS). The format is ours — AWS blobs are opaque too — and nothing outside this module parses it.
 *
 *   0x01 | keyIdLength (1 byte) | keyId (ASCII) | iv (12) | tag (16) | AES-256-GCM ciphertext
 *
 * The AAD is the header (version + key id) followed by the canonical encryption context, so a blob decrypts only
 * under the same key and the same context; any flipped bit fails the GCM tag.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 0x01;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export type EncryptionContext = Record<string, string>;

/** Sorted-key JSON: KMS treats the context as an unordered map, so `{a,b}` and `{b,a}` must bind identically. */
export function canonicalContext(context: EncryptionContext | undefined): Buffer {
  const sorted = Object.keys(context ?? {})
    .sort()
    .map((k) => [k, (context as EncryptionContext)[k]]);
  return Buffer.from(JSON.stringify(sorted), 'utf8');
}

function header(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  return Buffer.concat([Buffer.from([VERSION, id.length]), id]);
}

export function seal(
  keyId: string,
  material: Buffer,
  plaintext: Buffer,
  context?: EncryptionContext,
): Buffer {
  const head = header(keyId);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(Buffer.concat([head, canonicalContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([head, iv, cipher.getAuthTag(), body]);
}

/** The key id a blob claims, or undefined when the blob is not one of ours. Not authenticated until `open`. */
export function blobKeyId(blob: Buffer): string | undefined {
  if (blob.length < 2 || blob[0] !== VERSION) return undefined;
  const len = blob[1] ?? 0;
  if (len === 0 || blob.length < 2 + len + IV_BYTES + TAG_BYTES) return undefined;
  return blob.subarray(2, 2 + len).toString('ascii');
}

/** Returns the plaintext, or undefined when the blob, key or context do not match (KMS does not say which). */
export function open(material: Buffer, blob: Buffer, context?: EncryptionContext): Buffer | undefined {
  const keyId = blobKeyId(blob);
  if (keyId === undefined) return undefined;
  const headLen = 2 + Buffer.byteLength(keyId, 'ascii');
  const iv = blob.subarray(headLen, headLen + IV_BYTES);
  const tag = blob.subarray(headLen + IV_BYTES, headLen + IV_BYTES + TAG_BYTES);
  const body = blob.subarray(headLen + IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', material, iv);
  decipher.setAAD(Buffer.concat([blob.subarray(0, headLen), canonicalContext(context)]));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    // GCM reports every mismatch the same way ("unable to authenticate data"); so does KMS.
    return undefined;
  }
}
