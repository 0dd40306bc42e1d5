import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { newInitializationVector } from '../../../lib/crypto/iv.js';

/** AES-CTR keystream whose counter increments only the low `bits` of the block, as some decoders do. */
function ctrWithCounterWidth(key: Buffer, iv: Buffer, data: Buffer, bits: 32 | 64 | 128): Buffer {
  const ecb = createCipheriv(`aes-${key.length * 8}-ecb`, key, null).setAutoPadding(false);
  const mask = (1n << BigInt(bits)) - 1n;
  const start = BigInt(`0x${iv.toString('hex')}`);
  const high = start & ~mask;
  const out = Buffer.alloc(data.length);
  for (let block = 0; block * 16 < data.length; block++) {
    const counter = high | ((start + BigInt(block)) & mask);
    const stream = ecb.update(Buffer.from(counter.toString(16).padStart(32, '0'), 'hex'));
    for (let i = 0; i < 16 && block * 16 + i < data.length; i++) {
      out[block * 16 + i] = (data[block * 16 + i] ?? 0) ^ (stream[i] ?? 0);
    }
  }
  return out;
}

describe('newInitializationVector', () => {
  it('zeroes the low 32 bits of a CTR IV and keeps the rest random', () => {
    // Act
    const ivs = Array.from({ length: 8 }, () => newInitializationVector('aes-ctr'));
    // Assess
    for (const iv of ivs) {
      expect(iv).toHaveLength(16);
      expect(iv.readUInt32BE(12)).toBe(0);
    }
    expect(new Set(ivs.map((iv) => iv.subarray(0, 12).toString('hex'))).size).toBe(8);
  });

  it('leaves a CBC IV fully random', () => {
    // Prepare
    const fixed = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    // Act
    const iv = newInitializationVector('aes-cbc-pkcs7', () => Buffer.from(fixed));
    // Assess
    expect(iv.toString('hex')).toBe('00112233445566778899aabbccddeeff');
  });

  it('gives the same ciphertext for 32-, 64- and 128-bit counters where a random IV would not', () => {
    // Prepare: the worst case, a random high part of all ones that would carry at once with any low word of ones.
    const key = randomBytes(32);
    const data = randomBytes(16 * 64);
    const ours = newInitializationVector('aes-ctr', () => Buffer.alloc(16, 0xff));
    const unlucky = Buffer.alloc(16, 0xff);
    // Act
    const node = createCipheriv('aes-256-ctr', key, ours).update(data);
    const widths = ([32, 64, 128] as const).map((bits) => ctrWithCounterWidth(key, ours, data, bits));
    const unluckyWidths = ([32, 128] as const).map((bits) => ctrWithCounterWidth(key, unlucky, data, bits));
    // Assess
    for (const w of widths) expect(w.equals(node)).toBe(true);
    expect(unluckyWidths[0]?.equals(unluckyWidths[1] as Buffer)).toBe(false);
  });
});
