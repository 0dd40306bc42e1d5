import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NoSuchUpload,
  NotFound,
  S3Client,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  S3TransientError,
  SourceChangedError,
  SourceEmptyError,
  SourceNotFoundError,
  SourceTooLargeError,
} from '../../lib/errors.js';
import { cleanUp } from '../../lib/workflow/clean-up.js';
import { validateSource } from '../../lib/workflow/validate-source.js';
import { sampleAsset, sampleEncrypted } from '../helpers/state.js';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });
const config = {
  maxSourceBytes: 1000,
  inputPrefix: 'incoming/',
  encryptedPrefix: 'encrypted/',
  outputPrefix: 'outputs/',
  assetPrefix: 'assets/',
  encryptedBucket: undefined,
  outputBucket: undefined,
};
const input = { source: { bucket: 'b', key: 'incoming/a b.mp4', sequencer: '01' }, profile: 'default' };

beforeEach(() => {
  s3Mock.reset();
});

describe('validateSource', () => {
  it('pins the source to its ETag and derives the asset paths', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 500, ETag: '"e1"', ContentType: 'video/mp4' });
    // Act
    const { source, asset } = await validateSource(input, config, s3);
    // Assess
    expect(source).toEqual({
      bucket: 'b',
      key: 'incoming/a b.mp4',
      size: 500,
      etag: '"e1"',
      contentType: 'video/mp4',
    });
    expect(asset.encryptedKey.startsWith('encrypted/a b.mp4.')).toBe(true);
    expect(asset.outputKeyPrefix).toBe(`outputs/${asset.assetId}/a b/`);
  });

  it('pins an unversioned source to the ETag its event announced, so an older event cannot process a newer upload', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(
      Object.assign(new Error('Precondition Failed'), {
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      }),
    );
    // Act
    const p = validateSource({ ...input, source: { ...input.source, etag: 'abc123' } }, config, s3);
    // Assess
    await expect(p).rejects.toThrow(SourceChangedError);
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, { IfMatch: '"abc123"' });
  });

  it('rejects a zero-byte object with SourceEmptyError', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 0, ETag: '"e"' });
    // Act
    const p = validateSource(input, config, s3);
    // Assess
    await expect(p).rejects.toThrow(SourceEmptyError);
  });

  it('rejects an object over the configured maximum with SourceTooLargeError naming both sizes', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ContentLength: 1001, ETag: '"e"' });
    // Act
    const p = validateSource(input, config, s3);
    // Assess
    await expect(p).rejects.toThrow(SourceTooLargeError);
    await expect(p).rejects.toThrow(/1001 bytes.*1000 bytes/);
  });

  it('reports an object deleted before processing as SourceNotFoundError', async () => {
    // Prepare
    s3Mock
      .on(HeadObjectCommand)
      .rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
    // Act
    const p = validateSource(input, config, s3);
    // Assess
    await expect(p).rejects.toThrow(SourceNotFoundError);
  });

  it('treats SlowDown as transient', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).rejects(
      Object.assign(new Error('Please reduce your request rate.'), {
        name: 'SlowDown',
        $metadata: { httpStatusCode: 503 },
      }),
    );
    // Act
    const p = validateSource(input, config, s3);
    // Assess
    await expect(p).rejects.toThrow(S3TransientError);
  });
});

describe('cleanUp', () => {
  const checkpoint = {
    uploadId: 'up-1',
    partSize: 5242880,
    nextPartNumber: 3,
    nextOffset: 10485760,
    chainBlock: 'AAAAAAAAAAAAAAAAAAAAAA==',
    bytesDone: 10485760,
    done: false,
    invocations: 1,
  };

  it('aborts the open multipart upload and deletes partial outputs and the asset record', async () => {
    // Prepare
    s3Mock.on(AbortMultipartUploadCommand).resolves({});
    s3Mock.on(ListMultipartUploadsCommand).resolves({ Uploads: [], IsTruncated: false });
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [{ Key: `${sampleAsset().outputKeyPrefix}hls-400k00000.ts` }],
      IsTruncated: false,
    });
    s3Mock.on(DeleteObjectsCommand).resolves({});
    s3Mock.on(DeleteObjectCommand).resolves({});
    // Act
    const report = await cleanUp({ asset: sampleAsset(), encrypt: checkpoint }, { s3 });
    // Assess
    expect(report).toEqual({ abortedUpload: true, canceledJob: false, deletedObjects: 1 });
    expect(s3Mock).toHaveReceivedCommandWith(AbortMultipartUploadCommand, {
      UploadId: 'up-1',
      Key: sampleAsset().encryptedKey,
    });
    expect(s3Mock).toHaveReceivedCommandWith(DeleteObjectCommand, { Key: sampleAsset().assetRecordKey });
    expect(s3Mock).toHaveReceivedCommandWith(DeleteObjectCommand, { Key: sampleAsset().encryptedKey });
  });

  it('does not abort an upload that already completed, and tolerates NoSuchUpload', async () => {
    // Prepare
    s3Mock
      .on(AbortMultipartUploadCommand)
      .rejects(new NoSuchUpload({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
    s3Mock.on(ListMultipartUploadsCommand).resolves({ Uploads: [], IsTruncated: false });
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    s3Mock.on(DeleteObjectCommand).resolves({});
    // Act
    const completed = await cleanUp(
      { asset: sampleAsset(), encrypt: checkpoint, encrypted: sampleEncrypted() },
      { s3 },
    );
    const gone = await cleanUp({ asset: sampleAsset(), encrypt: checkpoint }, { s3 });
    // Assess
    expect(completed.abortedUpload).toBe(false);
    expect(gone.abortedUpload).toBe(false);
    expect(s3Mock).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 1);
  });

  it('aborts the uploads on the encrypted key that no checkpoint names (left by a killed EncryptSource)', async () => {
    // Prepare: the only invocation died before returning a checkpoint; another key's upload must stay
    const key = sampleAsset().encryptedKey;
    s3Mock.on(ListMultipartUploadsCommand).resolves({
      Uploads: [
        { Key: key, UploadId: 'orphan-1' },
        { Key: `${key}.other`, UploadId: 'not-ours' },
      ],
      IsTruncated: false,
    });
    s3Mock.on(AbortMultipartUploadCommand).resolves({});
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    s3Mock.on(DeleteObjectCommand).resolves({});
    // Act
    const report = await cleanUp({ asset: sampleAsset() }, { s3 });
    // Assess
    expect(report.abortedUpload).toBe(true);
    expect(s3Mock).toHaveReceivedCommandWith(ListMultipartUploadsCommand, { Prefix: key });
    expect(s3Mock).toHaveReceivedCommandTimes(AbortMultipartUploadCommand, 1);
    expect(s3Mock).toHaveReceivedCommandWith(AbortMultipartUploadCommand, { Key: key, UploadId: 'orphan-1' });
  });

  it('fails instead of claiming success when DeleteObjects reports per-key errors', async () => {
    // Prepare
    s3Mock
      .on(ListObjectsV2Command)
      .resolves({ Contents: [{ Key: `${sampleAsset().outputKeyPrefix}a.ts` }], IsTruncated: false });
    s3Mock.on(DeleteObjectsCommand).resolves({
      Errors: [{ Key: `${sampleAsset().outputKeyPrefix}a.ts`, Code: 'AccessDenied', Message: 'denied' }],
    });
    s3Mock.on(ListMultipartUploadsCommand).resolves({ Uploads: [], IsTruncated: false });
    // Act
    const p = cleanUp({ asset: sampleAsset() }, { s3 });
    // Assess
    await expect(p).rejects.toThrow(/1 of 1 objects were not deleted: AccessDenied/);
  });

  it('does nothing when the failure happened before any object was named', async () => {
    // Act
    const report = await cleanUp({}, { s3 });
    // Assess
    expect(report).toEqual({ abortedUpload: false, canceledJob: false, deletedObjects: 0 });
    expect(s3Mock.calls()).toHaveLength(0);
  });
});
