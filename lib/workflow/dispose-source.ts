/**
 * DisposeSource (success path only, after the transcode completed): applies `SOURCE_RETENTION` to the plaintext
 * upload. With `delete` it first checks that the encrypted copy is still the one CompleteUpload verified (same ETag
 * and size), then removes exactly the source version the job read — never a delete marker over it, never a newer
 * upload of the same key. With `keep` it touches nothing. It runs after the transcode, not right after CompleteUpload,
 * because a later failure sends CleanUp to delete the encrypted copy: a failed job must still have its source.
 */
import { DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { s3 as defaultS3 } from '../clients.js';
import type {
  DisposeSourceInputSchema,
  EncryptedObject,
  Source,
  SourceRetention,
  SourceRetentionPolicy,
} from '../contracts.js';
import { EncryptionFailedError, InvalidTaskInputError, S3TransientError, sdkErrorInfo } from '../errors.js';
import { logger } from '../logger.js';
import { translateS3Error } from '../s3/errors.js';

export type DisposeSourceState = z.infer<typeof DisposeSourceInputSchema>;

/** Refuses to delete when the encrypted copy is missing or differs from what CompleteUpload recorded. */
async function verifyEncryptedCopy(s3: S3Client, encrypted: EncryptedObject): Promise<void> {
  const where = { bucket: encrypted.bucket, key: encrypted.key };
  const head = await s3
    .send(new HeadObjectCommand({ Bucket: encrypted.bucket, Key: encrypted.key }))
    .catch((e: unknown) => {
      const translated = translateS3Error(e, 'HeadObject', where);
      if (translated instanceof S3TransientError) throw translated;
      throw new EncryptionFailedError(
        `DisposeSource: the encrypted copy s3://${encrypted.bucket}/${encrypted.key} cannot be verified, so the source is kept (${translated.message})`,
        { code: 'ENCRYPTED_COPY_UNVERIFIED', cause: e },
      );
    });
  if (head.ETag !== encrypted.etag || head.ContentLength !== encrypted.size) {
    throw new EncryptionFailedError(
      `DisposeSource: the encrypted copy s3://${encrypted.bucket}/${encrypted.key} is not the one completed (ETag ${head.ETag}, ${head.ContentLength} bytes; expected ${encrypted.etag}, ${encrypted.size} bytes), so the source is kept`,
      { code: 'ENCRYPTED_COPY_UNVERIFIED' },
    );
  }
}

/**
 * Deletes the processed version: by its VersionId in a versioned (or suspended) bucket, which removes that version
 * for good; without one (a bucket that never had versioning) only if the key still holds the processed content
 * (`If-Match`), so a newer upload of the same key — which has its own execution — is left alone.
 * Returns false when that newer upload had already replaced the content.
 */
async function deleteSourceVersion(s3: S3Client, source: Source): Promise<boolean> {
  const where = { bucket: source.bucket, key: source.key };
  const pin = source.versionId ? { VersionId: source.versionId } : { IfMatch: source.etag };
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: source.bucket, Key: source.key, ...pin }));
    return true;
  } catch (e) {
    const { name, status } = sdkErrorInfo(e);
    if (!source.versionId && (name === 'PreconditionFailed' || status === 412)) {
      logger.warn(
        'source replaced by a newer upload before it could be deleted; the newer one is left',
        where,
      );
      return false;
    }
    throw translateS3Error(e, 'DeleteObject', where);
  }
}

export async function disposeSource<S extends DisposeSourceState>(
  state: S,
  deps: { policy: SourceRetentionPolicy; s3?: S3Client },
): Promise<S & { sourceRetention: SourceRetention }> {
  const { source, encrypted, job } = state;
  if (job.status !== 'Complete') {
    throw new InvalidTaskInputError(`DisposeSource: job ${job.id} is ${job.status}, not Complete`, {
      code: 'INVALID_TASK_INPUT',
    });
  }
  const versionId = source.versionId ?? null;
  if (deps.policy === 'keep') {
    return { ...state, sourceRetention: { policy: 'keep', deleted: false, versionId } };
  }
  const s3 = deps.s3 ?? defaultS3;
  await verifyEncryptedCopy(s3, encrypted);
  const deleted = await deleteSourceVersion(s3, source);
  logger.info('source disposed', { bucket: source.bucket, key: source.key, versionId, deleted });
  return { ...state, sourceRetention: { policy: 'delete', deleted, versionId } };
}
