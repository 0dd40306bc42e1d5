/**
 * CompleteUpload: completes the encrypted multipart upload from ListParts (the checkpoint carries no ETags), checks
 * the size against what openssl would produce, and adds `encrypted` — the self-describing object — to the state.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { s3 as defaultS3 } from '../clients.js';
import type { CompleteUploadInputSchema, EncryptedObject } from '../contracts.js';
import { ciphertextSize, completeEncryptedUpload } from '../encrypt/engine.js';
import { envelopeMetadata } from '../encrypt/envelope.js';
import { InvalidTaskInputError } from '../errors.js';

export type CompleteUploadState = z.infer<typeof CompleteUploadInputSchema>;

export async function completeUpload<S extends CompleteUploadState>(
  state: S,
  s3: S3Client = defaultS3,
): Promise<S & { encrypted: EncryptedObject }> {
  const { source, asset, keys, encryption, encrypt } = state;
  if (!encrypt.done) {
    throw new InvalidTaskInputError(`CompleteUpload: encryption of upload ${encrypt.uploadId} is not done`, {
      code: 'INVALID_TASK_INPUT',
    });
  }
  const { etag, size } = await completeEncryptedUpload({
    s3,
    bucket: asset.encryptedBucket,
    key: asset.encryptedKey,
    uploadId: encrypt.uploadId,
    expectedSize: ciphertextSize(encryption.mode, source.size),
    expectedMetadata: envelopeMetadata({ ...encryption, ...keys.source, assetId: asset.assetId }),
  });
  return {
    ...state,
    encrypted: {
      bucket: asset.encryptedBucket,
      key: asset.encryptedKey,
      etag,
      size,
      mode: encryption.mode,
      initializationVector: encryption.initializationVector,
      wrappedKey: keys.source.wrappedKey,
      keyMd5: keys.source.keyMd5,
      kmsKeyId: keys.source.kmsKeyId,
    },
  };
}
