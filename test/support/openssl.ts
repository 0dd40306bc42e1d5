import { spawnSync } from 'node:child_process';
import type { EncryptionMode } from '../../lib/contracts.js';

/** The reference implementation: `openssl enc -nosalt -aes-<bits>-<cbc|ctr> -K <hex> -iv <hex>`. */
export function opensslEncrypt(mode: EncryptionMode, key: Buffer, iv: Buffer, input: Buffer): Buffer {
  return opensslEnc([cipherOf(mode, key)], key, iv, input);
}

/** The reference decryption: `openssl enc -d -nosalt -aes-<bits>-<cbc|ctr> -K <hex> -iv <hex>`. */
export function opensslDecrypt(mode: EncryptionMode, key: Buffer, iv: Buffer, input: Buffer): Buffer {
  return opensslEnc(['-d', cipherOf(mode, key)], key, iv, input);
}

/** The AES size follows the key, as the workflow's own cipher does. */
const cipherOf = (mode: EncryptionMode, key: Buffer) =>
  `-aes-${key.length * 8}-${mode === 'aes-ctr' ? 'ctr' : 'cbc'}`;

function opensslEnc(args: string[], key: Buffer, iv: Buffer, input: Buffer): Buffer {
  const out = spawnSync(
    'openssl',
    ['enc', '-nosalt', ...args, '-K', key.toString('hex'), '-iv', iv.toString('hex')],
    {
      input,
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  if (out.status !== 0) throw new Error(`openssl failed: ${out.stderr.toString()}`);
  return out.stdout;
}

/** Deterministic PRNG (mulberry32) so property-style cases are reproducible from their seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytesFrom(rand: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 1) b[i] = Math.floor(rand() * 256);
  return b;
}
