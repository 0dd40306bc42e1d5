import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  ListPartsCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { InvalidTaskInputError } from '../../../../lib/errors.js';
import { sampleAsset, sampleKeys } from '../../../support/state.js';

Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  KMS_KEY_ID: 'alias/test',
  PLAYBACK_KMS_KEY_ID: 'alias/test-playback',
  KEY_SERVICE_URL: 'https://keys.example.com',
  PIPELINE_ID: '1111111111111-abcdef',
  PART_SIZE_MIB: '5',
  TIME_BUDGET_MARGIN_MS: '1000',
  LOG_LEVEL: 'SILENT',
});

const PART = 5 * 1024 * 1024;
const dataKey = randomBytes(16);
const handedOut: Buffer[] = [];
const decryptDataKey = jest.fn(async (_wrapped: unknown) => {
  const copy = Buffer.from(dataKey);
  handedOut.push(copy);
  return copy;
});
jest.unstable_mockModule('../../../../lib/kms/keys.js', () => ({ decryptDataKey, keyMd5: () => '' }));

const s3mock = mockClient(S3Client);
const source = randomBytes(2 * PART + 3);
const iv = randomBytes(16);

function state(extra: Record<string, unknown> = {}) {
  return {
    source: { bucket: 'media-bucket', key: 'incoming/a.mp4', size: source.length, etag: '"src"' },
    asset: sampleAsset(),
    keys: sampleKeys(),
    encryption: { mode: 'aes-cbc-pkcs7', initializationVector: iv.toString('base64') },
    profile: 'default',
    ...extra,
  };
}

const context = (remainingMs: number) =>
  ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

let completeUpload: (e: unknown, c: Context) => Promise<Record<string, unknown>>;

beforeAll(async () => {
  completeUpload = (await import('../../../../functions/complete-upload/handler.js')).handler as never;
});

beforeEach(() => {
  s3mock.reset();
  handedOut.length = 0;
  s3mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u-1' });
  s3mock.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    const [, a, b] = /bytes=(\d+)-(\d+)/.exec(input.Range ?? '') ?? [];
    return {
      ETag: '"src"',
      Body: sdkStreamMixin(Readable.from([Buffer.from(source.subarray(Number(a), Number(b) + 1))])),
    };
  });
  s3mock.on(UploadPartCommand).resolves({ ETag: '"p"' });
});

describe('CompleteUpload handler', () => {
  const checkpoint = {
    uploadId: 'u-1',
    partSize: PART,
    nextPartNumber: 4,
    nextOffset: 3 * PART,
    chainBlock: iv.toString('base64'),
    bytesDone: source.length,
    done: true,
    invocations: 2,
  };

  it('completes from ListParts and adds the self-describing encrypted object', async () => {
    // Prepare
    s3mock.on(ListPartsCommand).resolves({
      Parts: [
        { PartNumber: 1, ETag: '"1"', Size: PART },
        { PartNumber: 2, ETag: '"2"', Size: PART },
        { PartNumber: 3, ETag: '"3"', Size: 16 },
      ],
    });
    s3mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"done-3"' });
    // Act
    const out = await completeUpload(state({ encrypt: checkpoint }), context(60_000));
    // Assess
    const keys = sampleKeys();
    expect(out.encrypted).toEqual({
      bucket: sampleAsset().encryptedBucket,
      key: sampleAsset().encryptedKey,
      etag: '"done-3"',
      size: 2 * PART + 16,
      mode: 'aes-cbc-pkcs7',
      initializationVector: iv.toString('base64'),
      wrappedKey: keys.source.wrappedKey,
      keyMd5: keys.source.keyMd5,
      kmsKeyId: keys.source.kmsKeyId,
    });
  });

  it('refuses to complete an upload whose encryption is not done', async () => {
    // Prepare
    const input = state({ encrypt: { ...checkpoint, done: false } });
    // Act
    const run = completeUpload(input, context(60_000));
    // Assess
    await expect(run).rejects.toThrow(InvalidTaskInputError);
    expect(s3mock).toHaveReceivedCommandTimes(CompleteMultipartUploadCommand, 0);
  });
});
