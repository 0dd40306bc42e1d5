/**
 * Ranged reads of the source object, pinned to the ETag validated at the start of the workflow (If-Match) and to its
 * versionId when the bucket is versioned, so a replaced object fails with SourceChangedError instead of feeding a
 * mixed ciphertext. Reads land in caller-owned buffers (the engine's fixed pool).
 */
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { EncryptionFailedError, S3TransientError, SourceChangedError } from '../errors.js';
import { translateS3Error } from './errors.js';
import { retryTransient } from './retry.js';

/** Anything the pipeline can read parts from: an S3 object, a local file. */
export interface RangeSource {
  readonly size: number;
  /** Fills `target[0, length)` with bytes `[offset, offset + length)`. */
  readInto(offset: number, length: number, target: Buffer): Promise<void>;
}

export interface S3ObjectRef {
  bucket: string;
  key: string;
  etag: string;
  versionId?: string | undefined;
  size: number;
}

const unquote = (etag: string) => etag.replace(/^W\//, '').replace(/"/g, '');

export class S3RangedReader implements RangeSource {
  readonly size: number;

  constructor(
    private readonly s3: S3Client,
    private readonly object: S3ObjectRef,
    private readonly attempts = 3,
  ) {
    this.size = object.size;
  }

  async readInto(offset: number, length: number, target: Buffer): Promise<void> {
    if (length === 0) return;
    await retryTransient(() => this.readOnce(offset, length, target), this.attempts);
  }

  private async readOnce(offset: number, length: number, target: Buffer): Promise<void> {
    const { bucket, key, etag, versionId } = this.object;
    const where = { bucket, key };
    try {
      const out = await this.s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          VersionId: versionId,
          IfMatch: etag,
          Range: `bytes=${offset}-${offset + length - 1}`,
        }),
      );
      // Defence in depth for S3-compatible stores that ignore If-Match.
      if (out.ETag && unquote(out.ETag) !== unquote(etag)) {
        throw new SourceChangedError(
          `s3://${bucket}/${key} changed while it was being read (ETag ${out.ETag})`,
          {
            code: 'SOURCE_CHANGED',
          },
        );
      }
      let pos = 0;
      for await (const chunk of out.Body as Readable) {
        const bytes = chunk as Buffer;
        if (pos + bytes.length > length) {
          throw new EncryptionFailedError(
            `S3 returned more than the ${length} bytes requested at ${offset}`,
            {
              code: 'BAD_RANGE_RESPONSE',
            },
          );
        }
        bytes.copy(target, pos);
        pos += bytes.length;
      }
      if (pos !== length) {
        throw new S3TransientError(
          `S3 GetObject s3://${bucket}/${key} ended after ${pos} of ${length} bytes at ${offset}`,
          {
            code: 'S3_SHORT_READ',
          },
        );
      }
    } catch (e) {
      if (
        e instanceof SourceChangedError ||
        e instanceof EncryptionFailedError ||
        e instanceof S3TransientError
      )
        throw e;
      throw translateS3Error(e, 'GetObject', where);
    }
  }
}

/** A fixed set of part buffers, allocated on first use and recycled: memory is bounded by the pool, not the object. */
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiters: Array<(b: Buffer) => void> = [];
  private created = 0;

  constructor(
    readonly capacity: number,
    readonly bufferSize: number,
  ) {}

  tryAcquire(): Buffer | undefined {
    const b = this.free.pop();
    if (b) return b;
    if (this.created >= this.capacity) return undefined;
    this.created += 1;
    return Buffer.allocUnsafeSlow(this.bufferSize);
  }

  acquire(): Promise<Buffer> {
    const b = this.tryAcquire();
    return b ? Promise.resolve(b) : new Promise((resolve) => this.waiters.push(resolve));
  }

  release(b: Buffer): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(b);
    else this.free.push(b);
  }

  get allocated(): number {
    return this.created;
  }
}

export interface PartPlan {
  partNumber: number;
  offset: number;
  length: number;
  final: boolean;
}

export interface ReadAheadOptions {
  /** Parts read ahead of the one the consumer holds. */
  depth: number;
  pool: BufferPool;
  /** Asked before each new read except the first, so every call makes progress. */
  shouldStop: () => boolean;
}

/**
 * Yields parts in order with up to `depth` further reads in flight. The consumer owns each yielded buffer and must
 * give it back to the pool. If the consumer stops early (error or break), reads still running are awaited and their
 * buffers returned.
 */
export async function* readAhead(
  source: RangeSource,
  plans: Iterable<PartPlan>,
  opts: ReadAheadOptions,
): AsyncGenerator<PartPlan & { buffer: Buffer }> {
  const pending: Array<{ plan: PartPlan; buffer: Buffer; done: Promise<void> }> = [];
  const it = plans[Symbol.iterator]();
  let exhausted = false;
  let started = 0;

  const fill = async () => {
    while (!exhausted && pending.length < opts.depth + 1) {
      if (started > 0 && opts.shouldStop()) {
        exhausted = true;
        return;
      }
      let buffer = opts.pool.tryAcquire();
      // Only wait for a buffer when there is nothing to hand out meanwhile.
      if (!buffer) {
        if (pending.length > 0) return;
        buffer = await opts.pool.acquire();
      }
      const next = it.next();
      if (next.done) {
        opts.pool.release(buffer);
        exhausted = true;
        return;
      }
      const plan = next.value;
      const done = source.readInto(plan.offset, plan.length, buffer);
      done.catch(() => undefined); // observed when this part reaches the head
      pending.push({ plan, buffer, done });
      started += 1;
    }
  };

  try {
    await fill();
    for (let head = pending.shift(); head; head = pending.shift()) {
      try {
        await head.done;
      } catch (e) {
        opts.pool.release(head.buffer);
        throw e;
      }
      yield { ...head.plan, buffer: head.buffer };
      await fill();
    }
  } finally {
    await Promise.allSettled(pending.map((p) => p.done));
    for (const p of pending.splice(0)) opts.pool.release(p.buffer);
  }
}
