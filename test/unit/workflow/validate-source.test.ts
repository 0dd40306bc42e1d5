import { HeadObjectCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import {
  InvalidTaskInputError,
  S3TransientError,
  SourceChangedError,
  SourceEmptyError,
  SourceNotFoundError,
  SourceTooLargeError,
} from '../../../lib/errors.js';
import { validateSource } from '../../../lib/workflow/validate-source.js';

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
  it.each([
    'incoming/../a0123456789abcdef0123456/clip.mp4',
    'incoming/./x.mp4',
    'incoming//x.mp4',
    'incoming/../assets/x.mp4',
  ])('refuses %s before reading it, naming the key and the rule', async (key) => {
    // Act
    const p = validateSource({ ...input, source: { ...input.source, key } }, config, s3);

    // Assess
    await expect(p).rejects.toThrow(InvalidTaskInputError);
    await expect(p).rejects.toThrow(`Object key "${key}" has`);
    await expect(p).rejects.toThrow('may not contain an empty, "." or ".." path segment');
    expect(s3Mock).not.toHaveReceivedCommand(HeadObjectCommand);
  });

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
