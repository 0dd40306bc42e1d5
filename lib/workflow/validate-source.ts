/**
 * ValidateSource: HeadObject pins the source (size, ETag, versionId) for every later read, and rejects what can
 * never succeed (a key with an empty, `.` or `..` segment; missing, empty, oversized) before any key is generated or
 * byte is copied.
 */
import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { s3 as defaultS3 } from '../clients.js';
import type { WorkflowConfig } from '../config/workflow.js';
import type { Asset, ExecutionInput, Source } from '../contracts.js';
import { InvalidTaskInputError, SourceEmptyError, SourceTooLargeError } from '../errors.js';
import { assetPaths, keyRuleViolation } from '../paths.js';
import { translateS3Error } from '../s3/errors.js';
import { boundedUserMetadata } from './user-metadata.js';

export async function validateSource(
  input: Pick<ExecutionInput, 'source' | 'profile'>,
  config: Pick<
    WorkflowConfig,
    | 'maxSourceBytes'
    | 'inputPrefix'
    | 'encryptedPrefix'
    | 'outputPrefix'
    | 'assetPrefix'
    | 'encryptedBucket'
    | 'outputBucket'
  >,
  client: S3Client = defaultS3,
): Promise<{ source: Source; asset: Asset }> {
  const { bucket, key, versionId, etag } = input.source;
  // Refused before any read: the starter passes such keys on so that this refusal reaches the uploader as a failure
  // notification naming the key and the rule (lib/paths.ts, KEY_SEGMENT_RULE), instead of a log line.
  const violation = keyRuleViolation(key);
  if (violation) throw new InvalidTaskInputError(violation, { code: 'SOURCE_KEY_REFUSED' });
  // A versioned bucket pins the version; an unversioned one can only pin the content the event announced. Without
  // it, an older event would process a newer upload (and the newer upload's own event would process it again).
  const pin = versionId
    ? { VersionId: versionId }
    : etag
      ? { IfMatch: etag.startsWith('"') ? etag : `"${etag}"` }
      : {};
  const head = await client
    .send(new HeadObjectCommand({ Bucket: bucket, Key: key, ...pin }))
    .catch((e: unknown) => {
      throw translateS3Error(e, 'HeadObject', { bucket, key });
    });
  const size = head.ContentLength ?? 0;
  if (size === 0) {
    throw new SourceEmptyError(`Source s3://${bucket}/${key} is empty (0 bytes); nothing to transcode`, {
      code: 'SOURCE_EMPTY',
    });
  }
  if (size > config.maxSourceBytes) {
    throw new SourceTooLargeError(
      `Source s3://${bucket}/${key} is ${size} bytes, over the configured maximum of ${config.maxSourceBytes} bytes`,
      { code: 'SOURCE_TOO_LARGE' },
    );
  }
  const metadata = boundedUserMetadata(head.Metadata);
  const source: Source = {
    bucket,
    key,
    size,
    etag: head.ETag ?? '',
    ...(head.VersionId && head.VersionId !== 'null' ? { versionId: head.VersionId } : {}),
    ...(head.ContentType ? { contentType: head.ContentType } : {}),
    ...(Object.keys(metadata).length > 0 ? { metadata } : {}),
  };
  const paths = assetPaths(input.source, config);
  const asset: Asset = {
    assetId: paths.assetId,
    profile: input.profile,
    encryptedBucket: config.encryptedBucket ?? bucket,
    encryptedKey: paths.encryptedKey,
    outputBucket: config.outputBucket ?? bucket,
    outputKeyPrefix: paths.outputKeyPrefix,
    assetRecordKey: paths.assetRecordKey,
  };
  return { source, asset };
}
