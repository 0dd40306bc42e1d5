/**
 * The part pipeline shared by the Lambda step, the CLI and the benchmark: read ahead → encrypt in place → sink.
 * Memory: the pool holds (readAhead + sink concurrency + 1) part buffers, whatever the object size; a part being
 * encrypted on a worker is one of them, so concurrent CTR and the CBC worker lane do not raise the bound.
 */
import type { PartCipher } from '../crypto/aes.js';
import { AES_BLOCK } from '../crypto/aes.js';
import type { CbcPartJob, ChainedPart, CtrPartJob, EncryptedPart } from '../crypto/cipher-workers.js';
import type { PartSink } from '../s3/multipart.js';
import { BufferPool, type PartPlan, type RangeSource, readAhead } from '../s3/ranged-reader.js';

export interface PipelineOptions {
  source: RangeSource;
  sink: PartSink;
  cipher: PartCipher;
  partSize: number;
  /** 1-based; parts before it are already in the sink. */
  firstPart: number;
  /** CBC chaining block carried into `firstPart` (the IV when starting). */
  chainBlock: Buffer;
  readAhead: number;
  /** Concurrency of the sink, used only to size the pool. */
  sinkConcurrency: number;
  shouldYield: () => boolean;
  /**
   * For ciphers whose parts are independent (CTR): encrypts off the main thread, up to `size` parts at once, and
   * `cipher` is not used. Parts then reach the sink in completion order; S3 does not mind.
   */
  concurrentCipher?: ConcurrentPartCipher | undefined;
  /**
   * For CBC: encrypts off the main thread on one sequential lane that keeps the chain itself (it starts from
   * `chainBlock`), and `cipher` is not used. Parts are queued on the lane as soon as they are read and reach the sink
   * in order.
   */
  cipherLane?: SequentialPartCipher | undefined;
}

export interface ConcurrentPartCipher {
  readonly size: number;
  encrypt(part: CtrPartJob): Promise<EncryptedPart>;
}

export interface SequentialPartCipher {
  /** Results settle in the order parts were handed over. */
  encrypt(part: CbcPartJob): Promise<ChainedPart>;
}

export interface PipelineResult {
  nextPartNumber: number;
  chainBlock: Buffer;
  done: boolean;
  totalParts: number;
  /** Part buffers actually allocated: the memory high-water mark, in parts. */
  buffersAllocated: number;
}

/** A zero-byte object is still one (empty, or for CBC one padding block) part: that is openssl's output too. */
export function totalParts(size: number, partSize: number): number {
  return Math.max(1, Math.ceil(size / partSize));
}

export function* partPlans(size: number, partSize: number, from: number): Generator<PartPlan> {
  const total = totalParts(size, partSize);
  for (let n = from; n <= total; n += 1) {
    const offset = (n - 1) * partSize;
    yield { partNumber: n, offset, length: Math.min(partSize, size - offset), final: n === total };
  }
}

type ReadPart = PartPlan & { buffer: Buffer };

/** CBC (and the identity copy): each part needs the previous part's last block, so encryption is sequential. */
async function encryptInOrder(
  parts: AsyncIterable<ReadPart>,
  opts: PipelineOptions,
  pool: BufferPool,
): Promise<{ next: number; chain: Buffer }> {
  let chain = opts.chainBlock;
  let next = opts.firstPart;
  for await (const part of parts) {
    let out: { length: number; chainBlock: Buffer };
    try {
      out = opts.cipher.encryptPart({ ...part, chainBlock: chain });
    } catch (e) {
      pool.release(part.buffer);
      throw e;
    }
    chain = out.chainBlock;
    await opts.sink.submit(part.partNumber, part.buffer.subarray(0, out.length), () =>
      pool.release(part.buffer),
    );
    next = part.partNumber + 1;
  }
  return { next, chain };
}

/**
 * CTR: up to `cipher.size` parts encrypt at once while earlier parts upload and later ones are read. Every part
 * handed out is settled (uploaded or failed) before this returns or throws, so the checkpoint after it is exact.
 */
async function encryptConcurrently(
  parts: AsyncIterable<ReadPart>,
  opts: PipelineOptions,
  cipher: ConcurrentPartCipher,
  pool: BufferPool,
): Promise<{ next: number; chain: Buffer }> {
  const running = new Set<Promise<void>>();
  let failure: unknown;
  let next = opts.firstPart;
  try {
    for await (const part of parts) {
      const job = cipher
        .encrypt(part)
        .then((out) =>
          opts.sink.submit(part.partNumber, out.buffer.subarray(0, out.length), () =>
            pool.release(out.buffer),
          ),
        )
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => running.delete(job));
      running.add(job);
      next = part.partNumber + 1;
      while (failure === undefined && running.size >= cipher.size) await Promise.race(running);
      if (failure !== undefined) break;
    }
  } finally {
    await Promise.all(running);
  }
  if (failure !== undefined) throw failure;
  return { next, chain: opts.chainBlock };
}

/**
 * CBC on a worker lane: the main thread hands each part over as soon as it is read (no waiting for the previous part
 * to come back or for an upload slot), then submits results to the sink in order. Every part handed over is settled
 * (submitted, or its buffer returned after a failure) before this returns or throws, so the checkpoint is exact.
 */
async function encryptOnLane(
  parts: AsyncIterable<ReadPart>,
  opts: PipelineOptions,
  lane: SequentialPartCipher,
  pool: BufferPool,
): Promise<{ next: number; chain: Buffer }> {
  let chain = opts.chainBlock;
  let next = opts.firstPart;
  let failure: unknown;
  let submitted: Promise<void> = Promise.resolve();
  const toSink = async (partNumber: number, encrypted: Promise<ChainedPart>): Promise<void> => {
    let out: ChainedPart;
    try {
      out = await encrypted;
    } catch (e) {
      failure ??= e;
      // The part's memory stayed with the worker: a replacement keeps the read-ahead from waiting for it forever.
      pool.release(Buffer.allocUnsafeSlow(pool.bufferSize));
      return;
    }
    if (failure !== undefined) {
      pool.release(out.buffer);
      return;
    }
    try {
      await opts.sink.submit(partNumber, out.buffer.subarray(0, out.length), () => pool.release(out.buffer));
      chain = out.chainBlock;
      next = partNumber + 1;
    } catch (e) {
      failure ??= e;
    }
  };
  try {
    for await (const part of parts) {
      let encrypted: Promise<ChainedPart>;
      try {
        encrypted = lane.encrypt(part);
      } catch (e) {
        pool.release(part.buffer);
        throw e;
      }
      // Observed in order by toSink; this only keeps an early rejection from being reported as unhandled.
      encrypted.catch(() => undefined);
      submitted = submitted.then(() => toSink(part.partNumber, encrypted));
      if (failure !== undefined) break;
    }
  } catch (e) {
    failure ??= e;
  } finally {
    await submitted;
  }
  if (failure !== undefined) throw failure;
  return { next, chain };
}

export async function runPartPipeline(opts: PipelineOptions): Promise<PipelineResult> {
  const total = totalParts(opts.source.size, opts.partSize);
  const pool = new BufferPool(opts.readAhead + opts.sinkConcurrency + 1, opts.partSize + AES_BLOCK);
  let result: { next: number; chain: Buffer };
  try {
    const parts = readAhead(opts.source, partPlans(opts.source.size, opts.partSize, opts.firstPart), {
      depth: opts.readAhead,
      pool,
      shouldStop: opts.shouldYield,
    });
    result = opts.concurrentCipher
      ? await encryptConcurrently(parts, opts, opts.concurrentCipher, pool)
      : opts.cipherLane
        ? await encryptOnLane(parts, opts, opts.cipherLane, pool)
        : await encryptInOrder(parts, opts, pool);
  } catch (e) {
    // Let in-flight parts settle before the caller aborts the upload or reuses anything.
    await opts.sink.drain().catch(() => undefined);
    throw e;
  }
  await opts.sink.drain();
  return {
    nextPartNumber: result.next,
    chainBlock: result.chain,
    done: result.next > total,
    totalParts: total,
    buffersAllocated: pool.allocated,
  };
}
