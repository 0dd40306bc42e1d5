/**
 * Receiving an object body: aws-chunked framing removed, size limited, MD5 and the requested flexible checksum
 * computed in one pass, all while the bytes stream to a temp file — memory stays at a few chunks whatever the size.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { AwsChunkedDecoder, AwsChunkedFormatError, isAwsChunked } from './aws-chunked.js';
import {
  type ChecksumAlgorithm,
  createDigest,
  requestedChecksum,
  UnsupportedChecksumError,
} from './checksums.js';
import { type ObjectBody, type ObjectStore, S3StoreError } from './object-store.js';

/** AWS's limit for a single PUT, an UploadPart and a CopyObject. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;

export class Hasher extends Transform {
  size = 0;
  private readonly md5 = createHash('md5');
  private readonly checksum: ReturnType<typeof createDigest> | undefined;

  constructor(
    readonly algorithm: ChecksumAlgorithm | undefined,
    private readonly limit: number,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    this.checksum = algorithm ? createDigest(algorithm) : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.limit) {
      done(
        new S3StoreError(
          'EntityTooLarge',
          `Your proposed upload exceeds the maximum allowed size (${this.limit} bytes)`,
          400,
        ),
      );
      return;
    }
    this.md5.update(chunk);
    this.checksum?.update(chunk);
    done(null, chunk);
  }

  md5Hex(): string {
    return this.md5.digest('hex');
  }

  checksumValue(): Promise<string> | undefined {
    return this.checksum?.digest();
  }
}

export interface ReceivedBody extends ObjectBody {
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

const bad = (code: string, message: string) => new S3StoreError(code, message, 400);

/** Streams the request body into a synced temp file and checks every digest the client declared. */
export async function receiveBody(store: ObjectStore, req: IncomingMessage): Promise<ReceivedBody> {
  const headers = req.headers;
  const declared = Number(headers['x-amz-decoded-content-length'] ?? headers['content-length'] ?? Number.NaN);
  if (declared > MAX_PUT_BYTES)
    throw bad(
      'EntityTooLarge',
      `Your proposed upload exceeds the maximum allowed size (${MAX_PUT_BYTES} bytes)`,
    );
  let requested: ReturnType<typeof requestedChecksum>;
  try {
    requested = requestedChecksum(headers);
  } catch (e) {
    if (e instanceof UnsupportedChecksumError) throw bad('InvalidRequest', e.message);
    throw e;
  }
  const chunked = isAwsChunked(headers) ? new AwsChunkedDecoder() : undefined;
  const hasher = new Hasher(requested?.algorithm, MAX_PUT_BYTES);
  let temp: string;
  try {
    temp = await store.receive(req, chunked ? [chunked, hasher] : [hasher]);
  } catch (e) {
    if (e instanceof AwsChunkedFormatError)
      throw bad('IncompleteBody', `Malformed aws-chunked body: ${e.message}`);
    throw e;
  }
  const md5 = hasher.md5Hex();
  const fail = async (code: string, message: string): Promise<never> => {
    await store.discard(temp);
    throw bad(code, message);
  };
  const decodedLength = headers['x-amz-decoded-content-length'];
  if (decodedLength !== undefined && Number(decodedLength) !== hasher.size)
    await fail(
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    );
  const contentMd5 = headers['content-md5'];
  if (typeof contentMd5 === 'string') {
    if (!/^[A-Za-z0-9+/]{22}==$/.test(contentMd5.trim()))
      await fail('InvalidDigest', 'The Content-MD5 you specified is not valid.');
    if (Buffer.from(contentMd5, 'base64').toString('hex') !== md5)
      await fail('BadDigest', 'The Content-MD5 you specified did not match what we received.');
  }
  let checksum: ReceivedBody['checksum'];
  if (requested) {
    const value = (await hasher.checksumValue()) ?? '';
    const expected = requested.trailer
      ? chunked?.trailers.get(`x-amz-checksum-${requested.algorithm}`)
      : requested.expected;
    if (expected !== undefined && expected !== value)
      await fail(
        'BadDigest',
        `The ${requested.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
      );
    checksum = { algorithm: requested.algorithm, value };
  }
  return { temp, size: hasher.size, etag: `"${md5}"`, ...(checksum ? { checksum } : {}) };
}
