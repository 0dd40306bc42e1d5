/**
 * GenerateKeys: two independent data keys under two KMS keys, both generated *without plaintext* so only KMS blobs
 * enter the state machine (README.md, "Security model").
 *
 * - The source key encrypts the input file: the workflow key, `sourceKeyContext()`.
 * - The playback (HLS) key is generated under the separate playback key, directly in the key service's context
 *   `keyServiceContext(assetId)`, then ReEncrypted *within the playback key* into the SPEKE key provider's context.
 *   Nothing is ever ReEncrypted into the playback key from the workflow key, so no blob the encrypt step can decrypt
 *   can become one the key service or the SPEKE key provider can decrypt.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { kms as defaultKms } from '../clients.js';
import type { Encryption, Keys } from '../contracts.js';
import { newInitializationVector } from '../crypto/iv.js';
import { keyServiceContext, sourceKeyContext, spekeKeyProviderContext } from '../kms/contexts.js';
import { generateWrappedKey, reEncryptWrappedKey } from '../kms/keys.js';
import type { Profile } from '../profiles.js';

export interface KeyIds {
  /** The workflow key (`KMS_KEY_ID`). */
  kmsKeyId: string;
  /** The playback key (`PLAYBACK_KMS_KEY_ID`). */
  playbackKmsKeyId: string;
}

export async function generateKeys(
  profile: Pick<Profile, 'keyBits' | 'encryptionMode'>,
  keyIds: KeyIds,
  assetId: string,
  client: KMSClient = defaultKms,
): Promise<{ keys: Keys; encryption: Encryption }> {
  const source = await generateWrappedKey(
    { kmsKeyId: keyIds.kmsKeyId, bits: profile.keyBits, encryptionContext: { ...sourceKeyContext() } },
    client,
  );
  const playback = await generateWrappedKey(
    { kmsKeyId: keyIds.playbackKmsKeyId, bits: 128, encryptionContext: { ...keyServiceContext(assetId) } },
    client,
  );
  // Same KMS key as the source blob (kms:ReEncryptOnSameKey): only the context changes.
  const speke = await reEncryptWrappedKey(
    playback,
    { kmsKeyId: playback.kmsKeyId, encryptionContext: spekeKeyProviderContext(assetId) },
    client,
  );
  return {
    keys: { source: { ...source, keyBits: profile.keyBits }, playback, speke },
    // A fresh random IV per job; it is not secret and travels with the envelope.
    encryption: {
      mode: profile.encryptionMode,
      initializationVector: newInitializationVector(profile.encryptionMode).toString('base64'),
    },
  };
}
