import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  NoSuchUpload,
  S3Client,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { cleanUp } from '../../../lib/workflow/clean-up.js';
import { sampleAsset, sampleEncrypted } from '../../support/state.js';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });

beforeEach(() => {
  s3Mock.reset();
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
