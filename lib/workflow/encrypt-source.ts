/**
 * EncryptSource (looped by the state machine): decrypts the source data key, streams the source through AES into a
 * multipart upload until the time budget is spent, and returns the state with the `encrypt` checkpoint. The
 * plaintext key lives only in this invocation's memory and is zeroed before returning.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import { s3 as defaultS3 } from '../clients.js';
import type { WorkflowConfig } from '../config/workflow.js';
import type { EncryptSourceInputSchema } from '../contracts.js';
import { encryptToMultipart } from '../encrypt/engine.js';
import { envelopeMetadata } from '../encrypt/envelope.js';
import { EncryptionFailedError } from '../errors.js';
import { decryptDataKey } from '../kms/keys.js';

export type EncryptSourceState = z.infer<typeof EncryptSourceInputSchema>;

export async function encryptSource<S extends EncryptSourceState>(
  state: S,
  deps: {
    config: Pick<
      WorkflowConfig,
      'maxEncryptInvocations' | 'partSizeBytes' | 'readAhead' | 'uploadConcurrency' | 'timeBudgetMarginMs'
    >;
    /** The invocation's remaining time (Lambda's `getRemainingTimeInMillis`). */
    remainingMs: () => number;
    s3?: S3Client;
  },
): Promise<S> {
  const { config } = deps;
  if (state.encrypt?.done) return state;
  if ((state.encrypt?.invocations ?? 0) >= config.maxEncryptInvocations) {
    throw new EncryptionFailedError(
      `encryption did not finish within ${config.maxEncryptInvocations} invocations (${state.encrypt?.bytesDone ?? 0} of ${state.source.size} bytes); check TIME_BUDGET_MARGIN_MS against the function timeout`,
      { code: 'ENCRYPT_LOOP_BOUND' },
    );
  }
  const { source, asset, keys, encryption } = state;

  const key = await decryptDataKey(keys.source);
  try {
    if (key.length * 8 !== keys.source.keyBits) {
      throw new EncryptionFailedError(`data key is ${key.length * 8} bits, expected ${keys.source.keyBits}`, {
        code: 'BAD_KEY_SIZE',
      });
    }
    const encrypt = await encryptToMultipart({
      s3: deps.s3 ?? defaultS3,
      source,
      destination: {
        bucket: asset.encryptedBucket,
        key: asset.encryptedKey,
        metadata: envelopeMetadata({ ...encryption, ...keys.source, assetId: asset.assetId }),
        contentType: 'application/octet-stream',
      },
      key,
      iv: Buffer.from(encryption.initializationVector, 'base64'),
      mode: encryption.mode,
      checkpoint: state.encrypt,
      partSizeBytes: config.partSizeBytes,
      readAhead: config.readAhead,
      uploadConcurrency: config.uploadConcurrency,
      shouldYield: () => deps.remainingMs() - config.timeBudgetMarginMs <= 0,
    });
    return { ...state, encrypt };
  } finally {
    key.fill(0);
  }
}
