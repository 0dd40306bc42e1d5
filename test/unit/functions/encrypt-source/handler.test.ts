import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { EncryptionFailedError, InvalidTaskInputError } from '../../../../lib/errors.js';
import {
  lambdaContext as context,
  dataKey,
  decryptDataKey,
  handedOut,
  iv,
  PART,
  s3mock,
  serveSource,
  encryptState as state,
} from '../../../support/encrypt-handler.js';
import { sampleKeys } from '../../../support/state.js';

let encryptSource: (e: unknown, c: Context) => Promise<Record<string, unknown>>;

beforeAll(async () => {
  encryptSource = (await import('../../../../functions/encrypt-source/handler.js')).handler as never;
});

beforeEach(serveSource);

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
