/**
 * The digests S3 computes over an object body while it streams: MD5 (the ETag and `Content-MD5`) and the flexible
 * checksums clients send as `x-amz-checksum-<algorithm>` headers or aws-chunked trailers. The CRCs are the AWS SDK's
 * own implementations (`@aws-sdk/checksums`, what the clients compute on their side); SHA-1 and SHA-256 are Node's.
 */
import { createHash } from 'node:crypto';
import { Crc32, Crc32c, Crc64Nvme } from '@aws-sdk/checksums/crc';
import type { Checksum } from '@smithy/types';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'crc64nvme', 'sha1', 'sha256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export class UnsupportedChecksumError extends Error {
  override readonly name = 'UnsupportedChecksumError';
}

interface Digest {
  update(chunk: Uint8Array): void;
  /** Base64, as S3 writes checksums. */
  digest(): Promise<string>;
}

const sdkDigest = (checksum: Checksum): Digest => ({
  update: (chunk) => checksum.update(chunk),
  digest: async () => Buffer.from(await checksum.digest()).toString('base64'),
});

const nodeDigest = (algorithm: 'sha1' | 'sha256'): Digest => {
  const hash = createHash(algorithm);
  return {
    update: (chunk) => {
      hash.update(chunk);
    },
    digest: async () => hash.digest('base64'),
  };
};

export function createDigest(algorithm: ChecksumAlgorithm): Digest {
  switch (algorithm) {
    case 'crc32':
      return sdkDigest(new Crc32());
    case 'crc32c':
      return sdkDigest(new Crc32c());
    case 'crc64nvme':
      return sdkDigest(new Crc64Nvme());
    case 'sha1':
    case 'sha256':
      return nodeDigest(algorithm);
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
