/**
 * Unwraps an asset's playback key. Only the record's `wrappedKey` is ever decrypted, always under the Elastic
 * Transcoder context and pinned to the record's KMS key; with the IAM condition on `kms:EncryptionContext:service`
 * this is the only decryption the key service can perform.
 */

import { createHash } from 'node:crypto';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { ELASTIC_TRANSCODER_CONTEXT } from '../config.js';
import {
  KmsInvalidCiphertextError,
  KmsKeyUnavailableError,
  KmsThrottledError,
  sdkErrorInfo,
} from '../errors.js';
import type { AssetRecord } from './asset-record.js';
import type { KeyCache } from './key-cache.js';

const PLAYBACK_KEY_BYTES = 16;

function sameContext(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

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
    if (!sameContext(record.encryptionContext, ELASTIC_TRANSCODER_CONTEXT)) {
      throw new KmsInvalidCiphertextError('Asset record key is not bound to the Elastic Transcoder context');
    }
    const blob = Buffer.from(record.wrappedKey, 'base64');
    if (createHash('md5').update(blob).digest('base64') !== record.keyMd5) {
      throw new KmsInvalidCiphertextError('Asset record keyMd5 does not match its wrapped key');
    }
    const hash = createHash('sha256').update(blob).digest('hex');
    const cached = this.cache.get(hash);
    if (cached) return cached;
    let pending = this.inFlight.get(hash);
    if (!pending) {
      pending = this.decrypt(blob, record.kmsKeyId).finally(() => this.inFlight.delete(hash));
      pending.then((key) => this.cache.set(hash, key)).catch(() => undefined);
      this.inFlight.set(hash, pending);
    }
    return Buffer.from(await pending);
  }

  private async decrypt(blob: Buffer, kmsKeyId: string): Promise<Buffer> {
    const out = await this.kms
      .send(
        new DecryptCommand({
          CiphertextBlob: blob,
          KeyId: kmsKeyId,
          EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
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
