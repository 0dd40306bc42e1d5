/**
 * GenerateKeys: two independent data keys, both generated *without plaintext* so only KMS blobs enter the state
 * machine. The source key encrypts the input file; the playback key encrypts HLS segments and is the only one a
 * player ever receives, so a leaked playback key cannot decrypt the source.
 */
import { randomBytes } from 'node:crypto';
import type { KMSClient } from '@aws-sdk/client-kms';
import { kms as defaultKms } from '../clients.js';
import { ELASTIC_TRANSCODER_CONTEXT } from '../config.js';
import type { Encryption, Keys } from '../contracts.js';
import { generateWrappedKey } from '../kms/keys.js';
import type { Profile } from '../profiles.js';

export async function generateKeys(
  profile: Pick<Profile, 'keyBits' | 'encryptionMode'>,
  kmsKeyId: string,
  client: KMSClient = defaultKms,
): Promise<{ keys: Keys; encryption: Encryption }> {
  const encryptionContext = { ...ELASTIC_TRANSCODER_CONTEXT };
  const source = await generateWrappedKey({ kmsKeyId, bits: profile.keyBits, encryptionContext }, client);
  const playback = await generateWrappedKey({ kmsKeyId, bits: 128, encryptionContext }, client);
  return {
    keys: { source: { ...source, keyBits: profile.keyBits }, playback },
    // A fresh random IV per job; it is not secret and travels with the envelope.
    encryption: { mode: profile.encryptionMode, initializationVector: randomBytes(16).toString('base64') },
  };
}
