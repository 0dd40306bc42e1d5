/**
 * Key handling as Elastic Transcoder does it: the job carries a KMS ciphertext blob and the MD5 of that blob
 * (not of the plaintext key — tutorial step 4), the blob is unwrapped through KMS with the service's encryption
 * context, and the plaintext key lives only in memory (and in a 0600 temp file while ffmpeg needs it).
 */
import { createHash } from 'node:crypto';
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
