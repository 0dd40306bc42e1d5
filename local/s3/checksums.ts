/**
 * The digests S3 computes over an object body while it streams: MD5 (the ETag and `Content-MD5`) and the flexible
 * checksums clients send as `x-amz-checksum-<algorithm>` headers or aws-chunked trailers. Node ships MD5, SHA-1,
 * SHA-256 and CRC-32; CRC-32C (Castagnoli) is a small table here. CRC-64/NVME is refused with a clear error rather
 * than stored unchecked.
 */
import { createHash, type Hash } from 'node:crypto';
import zlib from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export class UnsupportedChecksumError extends Error {
  override readonly name = 'UnsupportedChecksumError';
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32c(buf: Buffer, previous = 0): number {
  let crc = ~previous >>> 0;
  for (let i = 0; i < buf.length; i++) crc = (CRC32C_TABLE[(crc ^ (buf[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8);
  return ~crc >>> 0;
}

interface Digest {
  update(chunk: Buffer): void;
  /** Base64, as S3 writes checksums. */
  digest(): string;
}

const crcDigest = (fn: (b: Buffer, prev: number) => number): Digest => {
  let value = 0;
  return {
    update: (chunk) => {
      value = fn(chunk, value);
    },
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(value >>> 0);
      return out.toString('base64');
    },
  };
};

const hashDigest = (hash: Hash): Digest => ({
  update: (chunk) => {
    hash.update(chunk);
  },
  digest: () => hash.digest('base64'),
});

export function createDigest(algorithm: ChecksumAlgorithm): Digest {
  switch (algorithm) {
    case 'crc32':
      return crcDigest((b, prev) => zlib.crc32(b, prev));
    case 'crc32c':
      return crcDigest(crc32c);
    case 'sha1':
      return hashDigest(createHash('sha1'));
    case 'sha256':
      return hashDigest(createHash('sha256'));
  }
}

/** Parses `crc32` / `CRC32C` / `x-amz-checksum-sha256` into an algorithm, or throws for what is not supported. */
export function checksumAlgorithm(name: string): ChecksumAlgorithm {
  const n = name
    .toLowerCase()
    .replace(/^x-amz-checksum-/, '')
    .trim();
  if ((CHECKSUM_ALGORITHMS as readonly string[]).includes(n)) return n as ChecksumAlgorithm;
  throw new UnsupportedChecksumError(`Checksum algorithm ${name} is not supported by the local S3`);
}

/** The algorithm named by the request's checksum headers (value header, trailer declaration or SDK hint). */
export function requestedChecksum(
  headers: Record<string, string | string[] | undefined>,
): { algorithm: ChecksumAlgorithm; expected?: string; trailer: boolean } | undefined {
  for (const [name, value] of Object.entries(headers)) {
    if (
      !name.startsWith('x-amz-checksum-') ||
      name === 'x-amz-checksum-type' ||
      name === 'x-amz-checksum-mode'
    )
      continue;
    if (name === 'x-amz-checksum-algorithm') continue;
    return { algorithm: checksumAlgorithm(name), expected: String(value), trailer: false };
  }
  const trailer = headers['x-amz-trailer'];
  if (typeof trailer === 'string' && trailer.toLowerCase().startsWith('x-amz-checksum-'))
    return { algorithm: checksumAlgorithm(trailer), trailer: true };
  const declared = headers['x-amz-sdk-checksum-algorithm'] ?? headers['x-amz-checksum-algorithm'];
  if (typeof declared === 'string' && declared)
    return { algorithm: checksumAlgorithm(declared), trailer: false };
  return undefined;
}

export const md5Base64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
