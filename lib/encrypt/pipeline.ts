/**
 * The part pipeline shared by the Lambda step, the CLI and the benchmark: read ahead → encrypt in place → sink.
 * Memory: the pool holds (readAhead + sink concurrency + 1) part buffers, whatever the object size.
 */
import type { PartCipher } from '../crypto/aes.js';
import { AES_BLOCK } from '../crypto/aes.js';
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

/**
 * Each part is encrypted on the main thread while earlier parts upload and later ones are read. CBC must be
 * sequential (each part chains from the previous part's last block); for CTR, worker threads measured no faster,
 * since a part costs a few milliseconds to encrypt against tens to move it through S3.
 */
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
    result = await encryptInOrder(parts, opts, pool);
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
