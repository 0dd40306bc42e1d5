/**
 * Initialization vectors for the encrypted source. Random per job (they are not secret; the envelope carries them).
 *
 * CTR: how far a transcoder increments the counter block is undocumented for MediaConvert (32, 64 or 128 bits), and
 * our encrypter increments all 128 (OpenSSL). With the low 32 bits zero, no increment carries out of the low word
 * for fewer than 2^32 blocks (64 GiB, above MAX_SOURCE_BYTES' ceiling), so every counter width yields the same
 * keystream and any transcoder decrypts what we wrote.
 */
import { randomBytes } from 'node:crypto';
import type { EncryptionMode } from '../contracts.js';
import { AES_BLOCK } from './aes.js';

export function newInitializationVector(
  mode: EncryptionMode,
  random: (size: number) => Buffer = randomBytes,
): Buffer {
  const iv = random(AES_BLOCK);
  if (mode === 'aes-ctr') iv.fill(0, AES_BLOCK - 4);
  return iv;
}
