import type { KMSClient } from '@aws-sdk/client-kms';
import { kms as defaultKms } from '../clients.js';
import type { Keys, TranscoderKey, WrappedKey } from '../contracts.js';
import { wrapForTarget } from '../kms/keys.js';

/** Where the transcoder expects its keys: its KMS key and the encryption context its service uses. */
export interface TranscoderKeyTarget {
  kmsKeyId: string;
  /** `transcoderEncryptionContext(backend)` from lib/config.ts: Elastic Transcoder's and MediaConvert's differ. */
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
 * WrapKey, second half: the playback (HLS) key as the transcoder needs it. Elastic Transcoder decrypts
 * `HlsContentProtection.Key` with its own KMS key exactly like the input key, so when `TRANSCODER_KMS_KEY_ID` differs
 * from `KMS_KEY_ID` the playback blob must be re-wrapped too (else the job fails with 4018). Same no-op rule as
 * {@link wrapKeyForTranscoder}. The key service's copy (`keys.playbackDelivery`) is not touched.
 */
export async function wrapPlaybackKeyForTranscoder(
  keys: Keys,
  target: TranscoderKeyTarget,
  client: KMSClient = defaultKms,
): Promise<TranscoderKey> {
  return wrapForTranscoder(keys.playback, target, client);
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
