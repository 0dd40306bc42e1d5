/**
 * CleanUp (failure path only): leave nothing half-written. Aborts the encrypt step's multipart upload, cancels a
 * still-queued transcode job, deletes partial outputs, the encrypted copy and the asset record. Each step is
 * independent and idempotent, so a retried CleanUp converges; what it did is reported in `$.cleanup`.
 */
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3 as defaultS3 } from '../clients.js';
import type { Asset, Checkpoint, EncryptedObject, Job } from '../contracts.js';
import { logger } from '../logger.js';
import { translateS3Error } from '../s3/errors.js';
import { abortOrphanUploads } from '../s3/multipart.js';
import type { CancellableTranscoder } from '../transcoder/types.js';

export interface CleanupState {
  asset?: Asset;
  encrypt?: Checkpoint;
  encrypted?: EncryptedObject;
  job?: Job;
}

export interface CleanupReport {
  abortedUpload: boolean;
  canceledJob: boolean;
  deletedObjects: number;
}

/** Deletes every object under a prefix (paginated); returns how many. */
export async function deletePrefix(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await s3
      .send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      .catch((e: unknown) => {
        throw translateS3Error(e, 'ListObjectsV2', { bucket, key: prefix });
      });
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
    if (keys.length > 0) {
      const out = await s3
        .send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }))
        .catch((e: unknown) => {
          throw translateS3Error(e, 'DeleteObjects', { bucket, key: prefix });
        });
      // DeleteObjects answers 200 even when single keys fail; clean-up must not claim success then.
      const failed = out?.Errors ?? [];
      if (failed.length > 0) {
        throw translateS3Error(
          Object.assign(
            new Error(
              `${failed.length} of ${keys.length} objects were not deleted: ${failed[0]?.Code} ${failed[0]?.Message ?? ''}`,
            ),
            {
              name: failed[0]?.Code ?? 'InternalError',
            },
          ),
          'DeleteObjects',
          { bucket, key: prefix },
        );
      }
      deleted += keys.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return deleted;
}

export async function cleanUp(
  state: CleanupState,
  deps: { transcoder?: CancellableTranscoder; s3?: S3Client },
): Promise<CleanupReport> {
  const s3 = deps.s3 ?? defaultS3;
  const report: CleanupReport = { abortedUpload: false, canceledJob: false, deletedObjects: 0 };
  const { asset } = state;
  if (
    state.job &&
    deps.transcoder &&
    (state.job.status === 'Submitted' || state.job.status === 'Progressing')
  ) {
    report.canceledJob = await deps.transcoder.cancel(state.job.id);
  }
  if (asset && state.encrypt && !state.encrypted) {
    await s3
      .send(
        new AbortMultipartUploadCommand({
          Bucket: asset.encryptedBucket,
          Key: asset.encryptedKey,
          UploadId: state.encrypt.uploadId,
        }),
      )
      .then(() => {
        report.abortedUpload = true;
      })
      .catch((e: unknown) => {
        // Already completed or aborted: nothing left open.
        if ((e as { name?: string }).name !== 'NoSuchUpload')
          throw translateS3Error(e, 'AbortMultipartUpload', {
            bucket: asset.encryptedBucket,
            key: asset.encryptedKey,
          });
      });
  }
  if (!asset) {
    logger.info('cleaned up after failure', { ...report });
    return report;
  }
  // Uploads no checkpoint names: an EncryptSource invocation killed before it returned its first one.
  if (!state.encrypted) {
    const orphans = await abortOrphanUploads(s3, { bucket: asset.encryptedBucket, key: asset.encryptedKey });
    if (orphans > 0) report.abortedUpload = true;
  }
  report.deletedObjects += await deletePrefix(s3, asset.outputBucket, asset.outputKeyPrefix);
  for (const [bucket, key] of [
    [asset.encryptedBucket, asset.encryptedKey],
    [asset.outputBucket, asset.assetRecordKey],
  ] as const) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch((e: unknown) => {
      throw translateS3Error(e, 'DeleteObject', { bucket, key });
    });
  }
  logger.info('cleaned up after failure', { ...report, assetId: asset.assetId });
  return report;
}
