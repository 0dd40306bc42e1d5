/**
 * What the EncryptSource and CompleteUpload handler tests share: the environment their config reads at import, a
 * random source that a mocked S3 serves by byte range, and a decryptDataKey stand-in that keeps every copy of the
 * data key it hands out, so a test can check that each one was zeroed. Import this module before the handler: the
 * mock of lib/kms/keys.js only applies to modules loaded after it.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandInput,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { jest } from '@jest/globals';
import { sdkStreamMixin } from '@smithy/util-stream';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { sampleAsset, sampleKeys } from './state.js';

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

/** PART_SIZE_MIB above, in bytes. */
export const PART = 5 * 1024 * 1024;
export const dataKey = randomBytes(16);
export const handedOut: Buffer[] = [];
export const decryptDataKey = jest.fn(async (_wrapped: unknown) => {
  const copy = Buffer.from(dataKey);
  handedOut.push(copy);
  return copy;
});
jest.unstable_mockModule('../../lib/kms/keys.js', () => ({ decryptDataKey, keyMd5: () => '' }));

export const s3mock = mockClient(S3Client);
/** Two whole parts and three bytes: the last part is the short one. */
export const source = randomBytes(2 * PART + 3);
export const iv = randomBytes(16);

/** The state EncryptSource receives (CompleteUpload receives it with `encrypt`, passed in `extra`). */
export function encryptState(extra: Record<string, unknown> = {}) {
  return {
    source: { bucket: 'media-bucket', key: 'incoming/a.mp4', size: source.length, etag: '"src"' },
    asset: sampleAsset(),
    keys: sampleKeys(),
    encryption: { mode: 'aes-cbc-pkcs7', initializationVector: iv.toString('base64') },
    profile: 'default',
    ...extra,
  };
}

/** A Lambda context whose time budget is `remainingMs`. */
export const lambdaContext = (remainingMs: number) =>
  ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

/** Resets the S3 mock to serve `source` by range and accept a multipart upload, and forgets the keys handed out. */
export function serveSource(): void {
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
}
