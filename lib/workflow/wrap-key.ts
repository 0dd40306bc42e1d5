import type { KMSClient } from '@aws-sdk/client-kms';
import { kms as defaultKms } from '../clients.js';
import type { Keys, TranscoderKey, WrappedKey } from '../contracts.js';
import { reEncryptWrappedKey, wrapForTarget } from '../kms/keys.js';

/** Where the transcoder expects its keys: its KMS key and the encryption context its service uses. */
export interface TranscoderKeyTarget {
  kmsKeyId: string;
  /** `transcoderContext(backend)` from lib/kms/contexts.ts: Elastic Transcoder's and MediaConvert's differ. */
  encryptionContext: Readonly<Record<string, string>>;
}

/**
 * WrapKey: the source key as the transcoder needs it — under its KMS key and its service's encryption context
 * (a blob wrapped under another context decrypts for nobody but us). A no-op (no KMS write) when GenerateKeys
 * already used that key and context; ReEncrypt inside KMS otherwise. KeyMd5 is recomputed over the resulting blob.
 */
export async function wrapKeyForTranscoder(
  keys: Keys,
  target: TranscoderKeyTarget,
  client: KMSClient = defaultKms,
): Promise<TranscoderKey> {
  const { keyBits: _bits, ...source } = keys.source;
  return wrapForTranscoder(source, target, client);
}

/**
 * WrapKey, second half: the playback (HLS) key as the transcoder needs it (`HlsContentProtection.Key`). The blob is
 * ReEncrypted *out of* the playback key into the transcoder's KMS key and context, always: it lives under another
 * KMS key. That direction (playback key → workflow side) is the only one the template allows, so it opens no path
 * from a source key to the key service. The key service's and the SPEKE key provider's copies are not touched.
 */
export async function wrapPlaybackKeyForTranscoder(
  keys: Keys,
  target: TranscoderKeyTarget,
  client: KMSClient = defaultKms,
): Promise<TranscoderKey> {
  const wrapped = await reEncryptWrappedKey(
    keys.playback,
    { kmsKeyId: target.kmsKeyId, encryptionContext: { ...target.encryptionContext } },
    client,
  );
  return { ...wrapped, reEncrypted: true };
}

/** WrapKey: both keys the transcoder needs, under its KMS key and its service's encryption context. */
export async function wrapKey(
  keys: Keys,
  target: TranscoderKeyTarget,
  client: KMSClient = defaultKms,
): Promise<{ transcoderKey: TranscoderKey; transcoderPlaybackKey: TranscoderKey }> {
  const transcoderKey = await wrapKeyForTranscoder(keys, target, client);
  const transcoderPlaybackKey = await wrapPlaybackKeyForTranscoder(keys, target, client);
  return { transcoderKey, transcoderPlaybackKey };
}

function wrapForTranscoder(
  wrapped: WrappedKey,
  target: TranscoderKeyTarget,
  client: KMSClient,
): Promise<TranscoderKey> {
  return wrapForTarget(
    wrapped,
    { kmsKeyId: target.kmsKeyId, encryptionContext: { ...target.encryptionContext } },
    client,
  );
}
