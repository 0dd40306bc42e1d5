/**
 * EncryptSource (looped by the state machine): decrypts the source data key, streams the source through AES into a
 * multipart upload until the time budget is spent, and returns the state with the `encrypt` checkpoint. The
 * plaintext key lives only in this invocation's memory and is zeroed before returning.
 */
import type { Context } from 'aws-lambda';
import { s3 } from '../../lib/clients.js';
import { workflowConfig } from '../../lib/config.js';
import { EncryptSourceInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { encryptToMultipart } from '../../lib/encrypt/engine.js';
import { envelopeMetadata } from '../../lib/encrypt/envelope.js';
import { EncryptionFailedError } from '../../lib/errors.js';
import { task } from '../../lib/handler.js';
import { decryptDataKey } from '../../lib/kms/keys.js';

const config = workflowConfig();

export const handler = task('EncryptSource', async (event: unknown, context: Context) => {
  const state = parseTaskInput(EncryptSourceInputSchema, event, 'EncryptSource');
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
      s3,
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
      shouldYield: () => context.getRemainingTimeInMillis() - config.timeBudgetMarginMs <= 0,
    });
    return { ...state, encrypt };
  } finally {
    key.fill(0);
  }
});
