import {
  DeleteObjectCommand,
  HeadObjectCommand,
  NotFound,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import type { Job } from '../../../lib/contracts.js';
import {
  EncryptionFailedError,
  InvalidTaskInputError,
  S3TransientError,
  SourceNotFoundError,
} from '../../../lib/errors.js';
import { disposeSource } from '../../../lib/workflow/dispose-source.js';
import { sampleEncrypted, sampleSource } from '../../support/state.js';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({ region: 'us-east-1' });
const VERSION = '0001733600000000AbCdEfGhIjKlMnOp';

const completeJob = (): Job => ({
  backend: 'mediaconvert',
  id: '1733600000000-abcdef',
  status: 'Complete',
  outputs: [],
  playlists: [{ key: 'outputs/a1/show/ep/index.m3u8', format: 'HLSv3' }],
});
const state = (versionId: string | null = VERSION, job: Job = completeJob()) => ({
  source: { ...sampleSource(), ...(versionId ? { versionId } : {}) },
  encrypted: sampleEncrypted(),
  job,
  execution: { name: 'exec-1', arn: 'arn:aws:states:us-east-1:123456789012:execution:sm:exec-1' },
});
const s3Error = (name: string, status: number) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });

beforeEach(() => {
  s3Mock.reset();
  s3Mock
    .on(HeadObjectCommand)
    .resolves({ ETag: sampleEncrypted().etag, ContentLength: sampleEncrypted().size });
  s3Mock.on(DeleteObjectCommand).resolves({ VersionId: VERSION });
});

describe('disposeSource', () => {
  it('deletes exactly the processed source version after checking the encrypted copy', async () => {
    // Act
    const out = await disposeSource(state(), { policy: 'delete', s3 });
    // Assess
    expect(out.sourceRetention).toEqual({ policy: 'delete', deleted: true, versionId: VERSION });
    expect(s3Mock).toHaveReceivedCommandWith(HeadObjectCommand, {
      Bucket: sampleEncrypted().bucket,
      Key: sampleEncrypted().key,
    });
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectCommand, 1);
    expect(s3Mock.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: sampleSource().bucket,
      Key: sampleSource().key,
      VersionId: VERSION,
    });
    expect(s3Mock.calls().map((c) => c.args[0].constructor.name)).toEqual([
      'HeadObjectCommand',
      'DeleteObjectCommand',
    ]);
    expect(out.job).toEqual(completeJob());
  });

  it('pins the delete to the processed content with If-Match in a bucket without versions', async () => {
    // Act
    const out = await disposeSource(state(null), { policy: 'delete', s3 });
    // Assess
    expect(s3Mock.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: sampleSource().bucket,
      Key: sampleSource().key,
      IfMatch: sampleSource().etag,
    });
    expect(out.sourceRetention).toEqual({ policy: 'delete', deleted: true, versionId: null });
  });

  it('leaves a newer upload of an unversioned key alone and reports the source as not deleted', async () => {
    // Prepare
    s3Mock.on(DeleteObjectCommand).rejects(s3Error('PreconditionFailed', 412));
    // Act
    const out = await disposeSource(state(null), { policy: 'delete', s3 });
    // Assess
    expect(out.sourceRetention).toEqual({ policy: 'delete', deleted: false, versionId: null });
  });

  it('keeps the source without any S3 call when the policy is keep', async () => {
    // Act
    const out = await disposeSource(state(), { policy: 'keep', s3 });
    // Assess
    expect(out.sourceRetention).toEqual({ policy: 'keep', deleted: false, versionId: VERSION });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('never deletes when the encrypted copy is not the one CompleteUpload verified', async () => {
    // Prepare
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"other"', ContentLength: sampleEncrypted().size });
    // Act
    const run = disposeSource(state(), { policy: 'delete', s3 });
    // Assess
    await expect(run).rejects.toThrow(EncryptionFailedError);
    await expect(run).rejects.toThrow(/is not the one completed .* so the source is kept/);
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectCommand, 0);
  });

  it('never deletes when the encrypted copy is gone', async () => {
    // Prepare
    s3Mock
      .on(HeadObjectCommand)
      .rejects(new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }));
    // Act
    const run = disposeSource(state(), { policy: 'delete', s3 });
    // Assess
    await expect(run).rejects.toThrow(EncryptionFailedError);
    expect(s3Mock).toHaveReceivedCommandTimes(DeleteObjectCommand, 0);
  });

  it('never deletes for a job that is not Complete', async () => {
    // Act
    const run = disposeSource(state(VERSION, { ...completeJob(), status: 'Error' }), {
      policy: 'delete',
      s3,
    });
    // Assess
    await expect(run).rejects.toThrow(InvalidTaskInputError);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('throws S3TransientError for the state machine to retry when S3 is slow', async () => {
    // Prepare
    s3Mock.on(DeleteObjectCommand).rejects(s3Error('SlowDown', 503));
    // Act
    const run = disposeSource(state(), { policy: 'delete', s3 });
    // Assess
    await expect(run).rejects.toThrow(S3TransientError);
  });

  it('fails the step when it may not delete the version, so the job fails with its source intact', async () => {
    // Prepare
    s3Mock.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403));
    // Act
    const run = disposeSource(state(), { policy: 'delete', s3 });
    // Assess
    await expect(run).rejects.toThrow(SourceNotFoundError);
    await expect(run).rejects.toThrow(/DeleteObject .*AccessDenied/);
  });
});
