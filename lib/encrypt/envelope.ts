/**
 * The non-secret envelope stored as user metadata on the encrypted object, so the object describes itself: mode,
 * IV, KMS-wrapped key, KeyMd5, KMS key id, asset id. S3 caps user metadata at 2 KB in total (names + values).
 */
import type { EncryptionMode } from '../contracts.js';
import { EncryptionFailedError } from '../errors.js';

export const METADATA_LIMIT_BYTES = 2048;

export interface Envelope {
  mode: EncryptionMode;
  initializationVector: string;
  wrappedKey: string;
  keyMd5: string;
  kmsKeyId: string;
  assetId: string;
}

export function envelopeMetadata(e: Envelope): Record<string, string> {
  const metadata = {
    'st-mode': e.mode,
    'st-iv': e.initializationVector,
    'st-wrapped-key': e.wrappedKey,
    'st-key-md5': e.keyMd5,
    'st-kms-key-id': e.kmsKeyId,
    'st-asset-id': e.assetId,
  };
  const size = Object.entries(metadata).reduce(
    (n, [k, v]) => n + Buffer.byteLength(`x-amz-meta-${k}`) + Buffer.byteLength(v),
    0,
  );
  if (size > METADATA_LIMIT_BYTES) {
    throw new EncryptionFailedError(
      `the envelope metadata is ${size} bytes, over S3's ${METADATA_LIMIT_BYTES}-byte limit`,
      {
        code: 'METADATA_TOO_LARGE',
      },
    );
  }
  return metadata;
}
