import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { EncryptionFailedError, InvalidTaskInputError } from '../../../../lib/errors.js';
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

let encryptSource: (e: unknown, c: Context) => Promise<Record<string, unknown>>;

beforeAll(async () => {
  encryptSource = (await import('../../../../functions/encrypt-source/handler.js')).handler as never;
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

describe('EncryptSource handler', () => {
  it('returns the whole state with a checkpoint, writes the envelope metadata and zeroes the key', async () => {
    // Prepare
    const input = state();
    // Act
    const out = await encryptSource(input, context(60_000));
    // Assess
    expect(out).toMatchObject({
      ...input,
      encrypt: { uploadId: 'u-1', done: true, nextPartNumber: 4, invocations: 1 },
    });
    const keys = sampleKeys();
    expect(s3mock).toHaveReceivedCommandWith(CreateMultipartUploadCommand, {
      Bucket: input.asset.encryptedBucket,
      Key: input.asset.encryptedKey,
      Metadata: {
        'st-mode': 'aes-cbc-pkcs7',
        'st-iv': iv.toString('base64'),
        'st-wrapped-key': keys.source.wrappedKey,
        'st-key-md5': keys.source.keyMd5,
        'st-kms-key-id': keys.source.kmsKeyId,
        'st-asset-id': input.asset.assetId,
      },
    });
    expect(decryptDataKey).toHaveBeenCalledWith(keys.source);
    expect(handedOut.every((k) => k.equals(Buffer.alloc(16)))).toBe(true);
    const serialized = JSON.stringify(out);
    for (const form of [dataKey.toString('hex'), dataKey.toString('base64')])
      expect(serialized).not.toContain(form);
  });

  it('returns an unfinished checkpoint when the time budget is spent', async () => {
    // Prepare
    const input = state();
    // Act
    const out = await encryptSource(input, context(999));
    // Assess
    expect(out.encrypt).toMatchObject({ done: false, nextPartNumber: 2, bytesDone: PART });
  });

  it('stops a loop that would outgrow the execution history, before touching KMS', async () => {
    // Prepare
    const input = state({
      encrypt: {
        uploadId: 'u-1',
        partSize: PART,
        nextPartNumber: 2,
        nextOffset: PART,
        chainBlock: iv.toString('base64'),
        bytesDone: PART,
        done: false,
        invocations: 1000,
      },
    });
    decryptDataKey.mockClear();
    // Act
    const run = encryptSource(input, context(60_000));
    // Assess
    await expect(run).rejects.toThrow(EncryptionFailedError);
    await expect(run).rejects.toThrow(/within 1000 invocations/);
    expect(decryptDataKey).not.toHaveBeenCalled();
  });

  it('rejects a state without keys as InvalidTaskInputError before touching KMS', async () => {
    // Prepare
    const { keys: _k, ...input } = state();
    decryptDataKey.mockClear();
    // Act
    const run = encryptSource(input, context(60_000));
    // Assess
    await expect(run).rejects.toThrow(InvalidTaskInputError);
    expect(decryptDataKey).not.toHaveBeenCalled();
  });
});
