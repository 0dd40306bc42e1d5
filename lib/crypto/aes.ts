/**
 * AES part ciphers whose concatenated output is byte-identical to `openssl enc -nosalt -aes-<bits>-<cbc|ctr> -K -iv`.
 *
 * Parts are encrypted in place: the caller's buffer holds plaintext on the way in and ciphertext on the way out, so
 * the engine's memory is a fixed pool of part buffers (peak memory independent of object size).
 * CBC carries a 16-byte chaining block from one part to the next (it fits in the checkpoint); CTR derives the counter
 * from the byte offset, so its parts are independent of each other.
 */
import { type Cipher, createCipheriv } from 'node:crypto';
import type { EncryptionMode } from '../contracts.js';
import { EncryptionFailedError } from '../errors.js';

export const AES_BLOCK = 16;

/** Node's cipher.update allocates its output; slicing keeps that garbage small and short-lived. */
const SLICE = 256 * 1024;

export interface PartInput {
  /** Plaintext in `buffer[0, length)`; ciphertext is written back from 0. `buffer.length` must be ≥ length + 16. */
  buffer: Buffer;
  length: number;
  /** Plaintext byte offset of this part in the whole object (a multiple of 16 for every part but the first). */
  offset: number;
  /** The last part of the object: CBC applies PKCS#7 padding here and only here. */
  final: boolean;
  /** CBC: the previous part's last ciphertext block (the IV for the first part). Ignored by CTR. */
  chainBlock: Buffer;
}

export interface PartOutput {
  /** Ciphertext bytes now in `buffer[0, length)`. */
  length: number;
  /** CBC: the block to chain the next part from. CTR: the IV, unchanged. */
  chainBlock: Buffer;
}

export interface PartCipher {
  readonly mode: EncryptionMode | 'identity';
  encryptPart(part: PartInput): PartOutput;
}

export function cipherName(mode: EncryptionMode, key: Buffer): string {
  const bits = key.length * 8;
  return `aes-${bits}-${mode === 'aes-ctr' ? 'ctr' : 'cbc'}`;
}

export function assertKeyAndIv(key: Buffer, iv: Buffer): void {
  if (![16, 24, 32].includes(key.length)) {
    throw new EncryptionFailedError(`AES key must be 128, 192 or 256 bits, got ${key.length * 8}`, {
      code: 'BAD_KEY_SIZE',
    });
  }
  if (iv.length !== AES_BLOCK) {
    throw new EncryptionFailedError(`Initialization vector must be 16 bytes, got ${iv.length}`, {
      code: 'BAD_IV_SIZE',
    });
  }
}

/** Size of `openssl enc` output for a plaintext of `size` bytes. */
export function ciphertextSize(mode: EncryptionMode, size: number): number {
  return mode === 'aes-cbc-pkcs7' ? (Math.floor(size / AES_BLOCK) + 1) * AES_BLOCK : size;
}

const COUNTER_SPACE = 1n << 128n;

/**
 * The CTR counter block for a block-aligned byte offset: IV + offset/16 as a 128-bit big-endian integer, wrapping
 * at 2^128 exactly as OpenSSL's CRYPTO_ctr128_encrypt (and therefore Node) increments it.
 */
export function ctrCounterAt(iv: Buffer, offset: number): Buffer {
  if (offset % AES_BLOCK !== 0) {
    throw new EncryptionFailedError(`CTR part offset ${offset} is not a multiple of 16`, {
      code: 'BAD_PART_OFFSET',
    });
  }
  const start = BigInt(`0x${iv.toString('hex')}`);
  const value = (start + BigInt(offset / AES_BLOCK)) % COUNTER_SPACE;
  return Buffer.from(value.toString(16).padStart(32, '0'), 'hex');
}

function runInPlace(cipher: Cipher, buffer: Buffer, length: number): number {
  let written = 0;
  for (let pos = 0; pos < length; pos += SLICE) {
    const out = cipher.update(buffer.subarray(pos, Math.min(pos + SLICE, length)));
    // Encryption never emits more than it has consumed, so this never overwrites unread plaintext.
    out.copy(buffer, written);
    written += out.length;
  }
  // CBC without padding and CTR emit nothing here; CBC with padding emits the last block.
  const tail = cipher.final();
  tail.copy(buffer, written);
  return written + tail.length;
}

export class CbcPartCipher implements PartCipher {
  readonly mode = 'aes-cbc-pkcs7' as const;
  private readonly name: string;

  constructor(private readonly key: Buffer) {
    this.name = cipherName('aes-cbc-pkcs7', key);
  }

  encryptPart(part: PartInput): PartOutput {
    if (!part.final && part.length % AES_BLOCK !== 0) {
      throw new EncryptionFailedError(`CBC middle part of ${part.length} bytes is not a multiple of 16`, {
        code: 'BAD_PART_SIZE',
      });
    }
    if (part.buffer.length < part.length + AES_BLOCK) {
      throw new EncryptionFailedError('part buffer has no room for the padding block', {
        code: 'BAD_PART_BUFFER',
      });
    }
    const cipher = createCipheriv(this.name, this.key, part.chainBlock);
    cipher.setAutoPadding(part.final);
    const length = runInPlace(cipher, part.buffer, part.length);
    const chainBlock =
      length >= AES_BLOCK ? Buffer.from(part.buffer.subarray(length - AES_BLOCK, length)) : part.chainBlock;
    return { length, chainBlock };
  }
}

export class CtrPartCipher implements PartCipher {
  readonly mode = 'aes-ctr' as const;
  private readonly name: string;

  constructor(
    private readonly key: Buffer,
    private readonly iv: Buffer,
  ) {
    this.name = cipherName('aes-ctr', key);
  }

  encryptPart(part: PartInput): PartOutput {
    const cipher = createCipheriv(this.name, this.key, ctrCounterAt(this.iv, part.offset));
    const length = runInPlace(cipher, part.buffer, part.length);
    return { length, chainBlock: this.iv };
  }
}

/** No cipher: the benchmark's I/O ceiling runs the very same pipeline with this. */
export class IdentityPartCipher implements PartCipher {
  readonly mode = 'identity' as const;
  encryptPart(part: PartInput): PartOutput {
    return { length: part.length, chainBlock: part.chainBlock };
  }
}

export function createPartCipher(mode: EncryptionMode, key: Buffer, iv: Buffer): PartCipher {
  assertKeyAndIv(key, iv);
  return mode === 'aes-ctr' ? new CtrPartCipher(key, iv) : new CbcPartCipher(key);
}
