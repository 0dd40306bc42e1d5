/**
 * Unwraps an asset's playback key: only the record's `playbackKey` blob, always with the configured playback KMS key
 * as KeyId (never the key id the record names) and under `keyServiceContext(record.assetId)`. The key service's role
 * may Decrypt only that KMS key under that context, and no role in the template can put a source key under the
 * playback KMS key, so a record carrying any other blob — a source key re-wrapped under the workflow key, say — fails
 * in KMS (IncorrectKeyException) before a token is consumed. The `assetId` in the context means a record for asset A
 * holding asset B's blob fails in KMS too. A record whose context is not the key-service one is refused before KMS.
 */

import { createHash } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { KmsInvalidCiphertextError } from '../errors.js';
import { keyServiceContext, sameContext } from '../kms/contexts.js';
import { decryptDataKey } from '../kms/keys.js';
import type { AssetRecord } from './asset-record.js';
import type { KeyCache } from './key-cache.js';

const PLAYBACK_KEY_BYTES = 16;

export class PlaybackKeyProvider {
  // Concurrent requests for the same cold key share one Decrypt call.
  private readonly inFlight = new Map<string, Promise<Buffer>>();

  /** `playbackKmsKeyId`: PLAYBACK_KMS_KEY_ID, the only KMS key this provider decrypts with. */
  constructor(
    private readonly kms: KMSClient,
    private readonly cache: KeyCache,
    private readonly playbackKmsKeyId: string,
  ) {}

  /** The 16 raw key bytes. The caller owns the returned buffer. */
  async keyFor(record: AssetRecord): Promise<Buffer> {
    if (!sameContext(record.playbackKey.encryptionContext, keyServiceContext(record.assetId))) {
      throw new KmsInvalidCiphertextError(
        'Asset record playbackKey is not bound to the key-service encryption context of this asset',
      );
    }
    const blob = Buffer.from(record.playbackKey.wrappedKey, 'base64');
    // The cache key covers the asset as well as the blob: a blob cached for asset B must not be served, without
    // KMS's context check, for a record of asset A that carries it.
    const hash = createHash('sha256').update(record.assetId).update('\0').update(blob).digest('hex');
    const cached = this.cache.get(hash);
    if (cached) return cached;
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.decrypt(blob, record.assetId).finally(() => this.inFlight.delete(hash));
      pending.then((key) => this.cache.set(hash, key)).catch(() => undefined);
      this.inFlight.set(hash, pending);
    }
    return Buffer.from(await pending);
  }

  private decrypt(blob: Buffer, assetId: string): Promise<Buffer> {
    const wrapped = {
      wrappedKey: blob.toString('base64'),
      kmsKeyId: this.playbackKmsKeyId,
      encryptionContext: { ...keyServiceContext(assetId) },
    };
    return decryptDataKey(wrapped, this.kms, PLAYBACK_KEY_BYTES);
  }
}
