import { CompleteMultipartUploadCommand, ListPartsCommand } from '@aws-sdk/client-s3';
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { InvalidTaskInputError } from '../../../../lib/errors.js';
import {
  lambdaContext as context,
  iv,
  PART,
  s3mock,
  serveSource,
  source,
  encryptState as state,
} from '../../../support/encrypt-handler.js';
import { sampleAsset, sampleKeys } from '../../../support/state.js';

let completeUpload: (e: unknown, c: Context) => Promise<Record<string, unknown>>;

beforeAll(async () => {
  completeUpload = (await import('../../../../functions/complete-upload/handler.js')).handler as never;
});

beforeEach(serveSource);

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
