/**
 * GenerateKeys: two independent data keys, both generated *without plaintext* so only KMS blobs enter the state
 * machine. The source key encrypts the input file; the playback key encrypts HLS segments and is the only one a
 * player ever receives, so a leaked playback key cannot decrypt the source.
 *
 * Both are generated under the Elastic Transcoder context, the only one the transcoder accepts for the blobs it
 * receives. The key service must never be able to Decrypt under that context (it could then unwrap the source key),
 * so the playback key is also ReEncrypted — inside KMS — into the key-service context bound to this asset
 * (`KEY_SERVICE_CONTEXT(assetId)`): `keys.playbackDelivery`, the blob the asset record publishes.
 */
import { randomBytes } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { kms as defaultKms } from '../clients.js';
import { ELASTIC_TRANSCODER_CONTEXT, KEY_SERVICE_CONTEXT } from '../config.js';
import type { Encryption, Keys } from '../contracts.js';
import { generateWrappedKey, reEncryptWrappedKey } from '../kms/keys.js';
import type { Profile } from '../profiles.js';

export async function generateKeys(
  profile: Pick<Profile, 'keyBits' | 'encryptionMode'>,
  kmsKeyId: string,
  assetId: string,
  client: KMSClient = defaultKms,
): Promise<{ keys: Keys; encryption: Encryption }> {
  const encryptionContext = { ...ELASTIC_TRANSCODER_CONTEXT };
  const source = await generateWrappedKey({ kmsKeyId, bits: profile.keyBits, encryptionContext }, client);
  const playback = await generateWrappedKey({ kmsKeyId, bits: 128, encryptionContext }, client);
  const playbackDelivery = await reEncryptWrappedKey(
    playback,
    { kmsKeyId: playback.kmsKeyId, encryptionContext: KEY_SERVICE_CONTEXT(assetId) },
    client,
  );
  return {
    keys: { source: { ...source, keyBits: profile.keyBits }, playback, playbackDelivery },
    // A fresh random IV per job; it is not secret and travels with the envelope.
    encryption: { mode: profile.encryptionMode, initializationVector: randomBytes(16).toString('base64') },
  };
}
