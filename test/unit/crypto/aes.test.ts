import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { EncryptionMode } from '../../../lib/contracts.js';
import { AES_BLOCK, ciphertextSize, createPartCipher, ctrCounterAt } from '../../../lib/crypto/aes.js';
import { EncryptionFailedError } from '../../../lib/errors.js';
import { opensslEncrypt, randomBytesFrom, seeded } from '../../support/openssl.js';

/**
 * Encrypts `data` part by part the way the engine does, breaking into separate "invocations" after the given part
 * numbers: across a break only the base64 checkpoint fields survive, and a fresh cipher object is built.
 */
function encryptInParts(
  mode: EncryptionMode,
  key: Buffer,
  iv: Buffer,
  data: Buffer,
  partSize: number,
  breaks: number[] = [],
): Buffer {
  const total = Math.max(1, Math.ceil(data.length / partSize));
  const out: Buffer[] = [];
  let chainBlock = iv.toString('base64');
  let cipher = createPartCipher(mode, key, iv);
  for (let n = 1; n <= total; n += 1) {
    if (breaks.includes(n - 1)) cipher = createPartCipher(mode, key, iv);
    const offset = (n - 1) * partSize;
    const length = Math.min(partSize, data.length - offset);
    const buffer = Buffer.alloc(partSize + AES_BLOCK);
    data.copy(buffer, 0, offset, offset + length);
    const result = cipher.encryptPart({
      buffer,
      length,
      offset,
      final: n === total,
      chainBlock: Buffer.from(chainBlock, 'base64'),
    });
    chainBlock = result.chainBlock.toString('base64');
    out.push(Buffer.from(buffer.subarray(0, result.length)));
  }
  return Buffer.concat(out);
}

const MODES: EncryptionMode[] = ['aes-cbc-pkcs7', 'aes-ctr'];
const BITS = [128, 192, 256] as const;
const PART = 1024;
const SIZES = [0, 1, 15, 16, 17, PART - 1, PART, PART + 1, 2 * PART, 3 * PART + 5];

describe('part ciphers match openssl enc -nosalt', () => {
  const rand = seeded(0x5eed);
  const cases = BITS.flatMap((bits) => MODES.flatMap((mode) => SIZES.map((size) => ({ bits, mode, size }))));

  it.each(cases)('encrypts $size bytes with AES-$bits $mode like openssl', ({ bits, mode, size }) => {
    // Prepare
    const key = randomBytesFrom(rand, bits / 8);
    const iv = randomBytesFrom(rand, 16);
    const data = randomBytesFrom(rand, size);
    // Act
    const ours = encryptInParts(mode, key, iv, data, PART);
    // Assess
    expect(ours.equals(opensslEncrypt(mode, key, iv, data))).toBe(true);
    expect(ours.length).toBe(ciphertextSize(mode, size));
  });

  it('matches openssl for random sizes, part sizes and resume points (property, 40 seeded cases)', () => {
    // Prepare
    const prop = seeded(20240607);
    const mismatches: string[] = [];
    for (let i = 0; i < 40; i += 1) {
      const bits = BITS[Math.floor(prop() * 3)] ?? 128;
      const mode = MODES[Math.floor(prop() * 2)] ?? 'aes-ctr';
      const partSize = AES_BLOCK * (1 + Math.floor(prop() * 256));
      const size = Math.floor(prop() * partSize * 6);
      const parts = Math.max(1, Math.ceil(size / partSize));
      const breaks = Array.from({ length: 3 }, () => Math.floor(prop() * parts));
      const key = randomBytes(bits / 8);
      const iv = randomBytes(16);
      const data = randomBytes(size);
      // Act
      const ours = encryptInParts(mode, key, iv, data, partSize, breaks);
      if (!ours.equals(opensslEncrypt(mode, key, iv, data))) {
        mismatches.push(`${mode} aes-${bits} size=${size} part=${partSize} breaks=${breaks.join('+')}`);
      }
    }
    // Assess
    expect(mismatches).toEqual([]);
  });

  it('resumes after every part boundary with only the checkpoint chain block', () => {
    // Prepare
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const data = randomBytes(5 * PART + 3);
    const everyPart = [1, 2, 3, 4, 5];
    // Act
    const cbc = encryptInParts('aes-cbc-pkcs7', key, iv, data, PART, everyPart);
    const ctr = encryptInParts('aes-ctr', key, iv, data, PART, everyPart);
    // Assess
    expect(cbc.equals(opensslEncrypt('aes-cbc-pkcs7', key, iv, data))).toBe(true);
    expect(ctr.equals(opensslEncrypt('aes-ctr', key, iv, data))).toBe(true);
  });

  it('reproduces the Elastic Transcoder tutorial vector (key keykeykeykeykeyk, IV 1234567890123456)', () => {
    // Prepare
    const key = Buffer.from('keykeykeykeykeyk');
    const iv = Buffer.from('1234567890123456');
    const data = Buffer.from(
      'The quick brown fox jumps over the lazy dog, a tutorial video stand-in.\n'.repeat(40),
    );
    // Act
    const ours = encryptInParts('aes-cbc-pkcs7', key, iv, data, 256);
    // Assess
    expect(key.toString('hex')).toBe('6b65796b65796b65796b65796b65796b');
    expect(iv.toString('hex')).toBe('31323334353637383930313233343536');
    expect(ours.equals(opensslEncrypt('aes-cbc-pkcs7', key, iv, data))).toBe(true);
  });

  it('wraps the CTR counter at 2^128 like openssl', () => {
    // Prepare
    const key = randomBytes(16);
    const iv = Buffer.from('fffffffffffffffffffffffffffffffe', 'hex');
    const data = randomBytes(4 * 64 + 9);
    // Act
    const ours = encryptInParts('aes-ctr', key, iv, data, 64);
    // Assess
    expect(ours.equals(opensslEncrypt('aes-ctr', key, iv, data))).toBe(true);
    expect(ctrCounterAt(iv, 32).toString('hex')).toBe('00000000000000000000000000000000');
  });
});

describe('part cipher guards', () => {
  it('rejects a key that is not 128, 192 or 256 bits', () => {
    // Prepare
    const key = Buffer.alloc(20);
    // Act
    const act = () => createPartCipher('aes-cbc-pkcs7', key, Buffer.alloc(16));
    // Assess
    expect(act).toThrow(EncryptionFailedError);
  });

  it('rejects a CBC middle part that is not block-aligned', () => {
    // Prepare
    const cipher = createPartCipher('aes-cbc-pkcs7', Buffer.alloc(16), Buffer.alloc(16));
    // Act
    const act = () =>
      cipher.encryptPart({
        buffer: Buffer.alloc(64),
        length: 17,
        offset: 0,
        final: false,
        chainBlock: Buffer.alloc(16),
      });
    // Assess
    expect(act).toThrow(EncryptionFailedError);
  });

  it('rejects a CTR part offset that is not block-aligned', () => {
    // Prepare
    const iv = Buffer.alloc(16);
    // Act
    const act = () => ctrCounterAt(iv, 8);
    // Assess
    expect(act).toThrow(EncryptionFailedError);
  });
});
