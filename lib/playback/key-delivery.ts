/**
 * Unwraps an asset's playback key. Only the record's `wrappedKey` is ever decrypted, always under
 * `KEY_SERVICE_CONTEXT(record.assetId)` and pinned to the record's KMS key. The key service's role may Decrypt only
 * under that context's `service` value (IAM condition on `kms:EncryptionContext:service`), never under the
 * transcoder's, so it cannot unwrap the source key; the `assetId` in the context means a record for asset A holding
 * asset B's blob fails in KMS. A record under any other context is refused before KMS is called.
 */

import { createHash } from 'node:crypto';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { KEY_SERVICE_CONTEXT } from '../config.js';
import {
  KmsInvalidCiphertextError,
  KmsKeyUnavailableError,
  KmsThrottledError,
  sdkErrorInfo,
} from '../errors.js';
import type { AssetRecord } from './asset-record.js';
import type { KeyCache } from './key-cache.js';
import { isKeyServiceContext } from './key-context.js';

const PLAYBACK_KEY_BYTES = 16;

function translateKmsError(e: unknown): Error {
  const { name, status, message } = sdkErrorInfo(e);
  if (name === 'InvalidCiphertextException' || name === 'IncorrectKeyException') {
    return new KmsInvalidCiphertextError(`KMS refused the playback key blob: ${message}`, { cause: e });
  }
  if (name === 'ThrottlingException' || name === 'LimitExceededException' || (status ?? 0) >= 500) {
    return new KmsThrottledError(`KMS Decrypt throttled or failed: ${name}`, { cause: e });
  }
  return new KmsKeyUnavailableError(`KMS Decrypt failed: ${name}`, { cause: e });
}

export class PlaybackKeyProvider {
  // Concurrent requests for the same cold key share one Decrypt call.
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly kms: KMSClient,
    private readonly cache: KeyCache,
  ) {}

  /** The 16 raw key bytes. The caller owns the returned buffer. */
  async keyFor(record: AssetRecord): Promise<Buffer> {
    if (!isKeyServiceContext(record.encryptionContext, record.assetId)) {
      throw new KmsInvalidCiphertextError(
        'Asset record key is not bound to the key-service encryption context of this asset',
      );
    }
    const blob = Buffer.from(record.wrappedKey, 'base64');
    if (createHash('md5').update(blob).digest('base64') !== record.keyMd5) {
      throw new KmsInvalidCiphertextError('Asset record keyMd5 does not match its wrapped key');
    }
    // The cache key covers the asset as well as the blob: a blob cached for asset B must not be served, without
    // KMS's context check, for a record of asset A that carries it.
    const hash = createHash('sha256').update(record.assetId).update('\0').update(blob).digest('hex');
    const cached = this.cache.get(hash);
    if (cached) return cached;
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.decrypt(blob, record.kmsKeyId, record.assetId).finally(() => this.inFlight.delete(hash));
      pending.then((key) => this.cache.set(hash, key)).catch(() => undefined);
      this.inFlight.set(hash, pending);
    }
    return Buffer.from(await pending);
  }

  private async decrypt(blob: Buffer, kmsKeyId: string, assetId: string): Promise<Buffer> {
    const out = await this.kms
      .send(
        new DecryptCommand({
          CiphertextBlob: blob,
          KeyId: kmsKeyId,
          EncryptionContext: { ...KEY_SERVICE_CONTEXT(assetId) },
        }),
      )
      .catch((e: unknown) => {
        throw translateKmsError(e);
      });
    const plaintext = out.Plaintext;
    if (!plaintext || plaintext.length !== PLAYBACK_KEY_BYTES) {
      plaintext?.fill(0);
      throw new KmsInvalidCiphertextError(`Playback key must be ${PLAYBACK_KEY_BYTES} bytes (AES-128)`);
    }
    return Buffer.from(plaintext);
  }
}
