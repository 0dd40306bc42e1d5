/**
 * CompleteUpload: completes the encrypted multipart upload from ListParts (the checkpoint carries no ETags), checks
 * the size against what openssl would produce, and adds `encrypted` — the self-describing object — to the state.
 */
import { s3 } from '../../lib/clients.js';
import { CompleteUploadInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { ciphertextSize, completeEncryptedUpload } from '../../lib/encrypt/engine.js';
import { envelopeMetadata } from '../../lib/encrypt/envelope.js';
import { InvalidTaskInputError } from '../../lib/errors.js';
import { task } from '../../lib/handler.js';

export const handler = task('CompleteUpload', async (event: unknown) => {
  const state = parseTaskInput(CompleteUploadInputSchema, event, 'CompleteUpload');
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
});
