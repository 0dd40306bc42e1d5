/**
 * Decodes `aws-chunked` request bodies as they stream: `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … a zero-size
 * chunk, then optional trailers (`x-amz-checksum-crc32:…`, `x-amz-trailer-signature:…`) and a blank line. Both
 * variants the SDKs send are handled: signed chunks (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`) and unsigned
 * chunks with a checksum trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`). Chunk signatures belong to request
 * authentication; this decoder only frames. Only the small framing lines are buffered, never a chunk's bytes.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class AwsChunkedFormatError extends Error {
  override readonly name = 'AwsChunkedFormatError';
}

const MAX_LINE = 8 * 1024;

export function isAwsChunked(headers: Record<string, string | string[] | undefined>): boolean {
  const sha = String(headers['x-amz-content-sha256'] ?? '');
  if (sha.startsWith('STREAMING-')) return true;
  // `Content-Encoding: aws-chunked` alone is not framing: some clients send it over a plain body. A chunked body
  // also declares its decoded length.
  return (
    headers['x-amz-decoded-content-length'] !== undefined &&
    String(headers['content-encoding'] ?? '')
      .split(',')
      .some((e) => e.trim() === 'aws-chunked')
  );
}

export class AwsChunkedDecoder extends Transform {
  /** Trailer headers (lower-case names), available once the stream has ended. */
  readonly trailers = new Map<string, string>();
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' | 'done' = 'size';
  private line = Buffer.alloc(0);
  private remaining = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let buf = chunk;
      while (buf.length > 0) {
        if (this.state === 'data') {
          const take = Math.min(this.remaining, buf.length);
          this.push(buf.subarray(0, take));
          this.remaining -= take;
          buf = buf.subarray(take);
          if (this.remaining === 0) this.state = 'data-crlf';
          continue;
        }
        if (this.state === 'done') {
          // Some clients end with an extra CRLF; anything else after the final chunk is malformed.
          if (buf.toString('latin1').trim() !== '')
            throw new AwsChunkedFormatError('data after the final chunk');
          break;
        }
        const nl = buf.indexOf(0x0a);
        if (nl < 0) {
          this.line = Buffer.concat([this.line, buf]);
          if (this.line.length > MAX_LINE) throw new AwsChunkedFormatError('chunk header line too long');
          break;
        }
        const text = Buffer.concat([this.line, buf.subarray(0, nl)])
          .toString('latin1')
          .replace(/\r$/, '');
        this.line = Buffer.alloc(0);
        buf = buf.subarray(nl + 1);
        this.onLine(text);
      }
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    if (this.state === 'trailer' && this.line.length === 0) this.state = 'done';
    if (this.state !== 'done') {
      done(new AwsChunkedFormatError('the aws-chunked body ended before its final chunk'));
      return;
    }
    done();
  }

  private onLine(text: string): void {
    switch (this.state) {
      case 'size': {
        const sizeHex = text.split(';')[0]?.trim() ?? '';
        if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex))
          throw new AwsChunkedFormatError(`bad chunk size "${sizeHex}"`);
        this.remaining = Number.parseInt(sizeHex, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
        return;
      }
      case 'data-crlf':
        if (text !== '') throw new AwsChunkedFormatError('chunk data longer than its declared size');
        this.state = 'size';
        return;
      case 'trailer': {
        if (text === '') {
          this.state = 'done';
          return;
        }
        const colon = text.indexOf(':');
        if (colon < 0) throw new AwsChunkedFormatError(`bad trailer "${text}"`);
        this.trailers.set(text.slice(0, colon).trim().toLowerCase(), text.slice(colon + 1).trim());
        return;
      }
      default:
        return;
    }
  }
}
