import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { AES_BLOCK, createPartCipher } from '../../../lib/crypto/aes.js';
import { CtrWorkerPool, ctrWorkerCount } from '../../../lib/crypto/cipher-workers.js';
import { type ConcurrentPartCipher, runPartPipeline } from '../../../lib/encrypt/pipeline.js';
import { EncryptionFailedError } from '../../../lib/errors.js';
import type { PartSink } from '../../../lib/s3/multipart.js';
import type { RangeSource } from '../../../lib/s3/ranged-reader.js';
import { opensslEncrypt, seeded } from '../../support/openssl.js';

// Generous: these spawn openssl and child processes, whose speed depends on the machine's load.
jest.setTimeout(180_000);

const memorySource = (data: Buffer): RangeSource => ({
  size: data.length,
  readInto: async (offset, length, target) => {
    data.copy(target, 0, offset, offset + length);
  },
});

/** Keeps each part's bytes; a random delay per part lets later parts finish first, as concurrent uploads do. */
function memorySink(rand: () => number): PartSink & { parts: Map<number, Buffer>; order: number[] } {
  const parts = new Map<number, Buffer>();
  const order: number[] = [];
  const inFlight = new Set<Promise<void>>();
  return {
    parts,
    order,
    async submit(partNumber, data, release) {
      const p = sleep(Math.floor(rand() * 4)).then(() => {
        parts.set(partNumber, Buffer.from(data));
        order.push(partNumber);
        release();
        inFlight.delete(p);
      });
      inFlight.add(p);
    },
    async drain() {
      await Promise.all(inFlight);
    },
  };
}

/** Counts how many parts are being encrypted at the same moment. */
function counting(pool: CtrWorkerPool): ConcurrentPartCipher & { peak: number } {
  let now = 0;
  const c = {
    size: pool.size,
    peak: 0,
    async encrypt(part: Parameters<CtrWorkerPool['encrypt']>[0]) {
      now += 1;
      c.peak = Math.max(c.peak, now);
      try {
        return await pool.encrypt(part);
      } finally {
        now -= 1;
      }
    },
  };
  return c;
}

/** Runs the CTR pipeline as a series of invocations, each with a fresh worker pool, stopping after `breaks`. */
async function encryptOnWorkers(opts: {
  key: Buffer;
  iv: Buffer;
  data: Buffer;
  partSize: number;
  workers: number;
  partsPerCall: number;
  rand: () => number;
}): Promise<{ ciphertext: Buffer; peak: number; maxBuffers: number; calls: number }> {
  const sink = memorySink(opts.rand);
  const readAhead = 2;
  let next = 1;
  let peak = 0;
  let maxBuffers = 0;
  let calls = 0;
  for (let done = false; !done; calls += 1) {
    const pool = new CtrWorkerPool(opts.key, opts.iv, opts.workers);
    const cipher = counting(pool);
    let asked = 0;
    try {
      const result = await runPartPipeline({
        source: memorySource(opts.data),
        sink,
        cipher: createPartCipher('aes-ctr', opts.key, opts.iv),
        concurrentCipher: cipher,
        partSize: opts.partSize,
        firstPart: next,
        chainBlock: opts.iv,
        readAhead,
        sinkConcurrency: 3,
        shouldYield: () => {
          asked += 1;
          return asked >= opts.partsPerCall;
        },
      });
      next = result.nextPartNumber;
      done = result.done;
      peak = Math.max(peak, cipher.peak);
      maxBuffers = Math.max(maxBuffers, result.buffersAllocated);
    } finally {
      await pool.close();
    }
  }
  const ciphertext = Buffer.concat([...sink.parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p));
  return { ciphertext, peak, maxBuffers, calls };
}

describe('CTR parts on the worker pool match openssl enc -nosalt', () => {
  const pools: CtrWorkerPool[] = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it('matches openssl for random sizes, part sizes, worker counts and resume points (property, 24 seeded cases)', async () => {
    // Prepare
    const prop = seeded(0xc7a);
    const mismatches: string[] = [];
    let concurrent = 0;
    for (let i = 0; i < 24; i += 1) {
      const bits = [128, 192, 256][Math.floor(prop() * 3)] ?? 128;
      const partSize = AES_BLOCK * (1 + Math.floor(prop() * 64));
      const size = Math.floor(prop() * partSize * 9);
      const workers = 1 + Math.floor(prop() * 3);
      const partsPerCall = 1 + Math.floor(prop() * 4);
      const key = randomBytes(bits / 8);
      const iv = randomBytes(16);
      const data = randomBytes(size);
      // Act
      const run = await encryptOnWorkers({ key, iv, data, partSize, workers, partsPerCall, rand: prop });
      if (!run.ciphertext.equals(opensslEncrypt('aes-ctr', key, iv, data))) {
        mismatches.push(
          `aes-${bits} size=${size} part=${partSize} workers=${workers} perCall=${partsPerCall}`,
        );
      }
      if (run.peak > 1) concurrent += 1;
      // Memory: never more part buffers than read-ahead + sink concurrency + 1.
      expect(run.maxBuffers).toBeLessThanOrEqual(2 + 3 + 1);
    }
    // Assess
    expect(mismatches).toEqual([]);
    expect(concurrent).toBeGreaterThan(0);
  });

  it('encrypts several parts at once and resumes at every part boundary with a new pool', async () => {
    // Prepare
    const key = randomBytes(32);
    const iv = randomBytes(16);
    const data = randomBytes(12 * 4096 + 7);
    // Act
    const oneCall = await encryptOnWorkers({
      key,
      iv,
      data,
      partSize: 4096,
      workers: 3,
      partsPerCall: 100,
      rand: seeded(1),
    });
    const everyPart = await encryptOnWorkers({
      key,
      iv,
      data,
      partSize: 4096,
      workers: 2,
      partsPerCall: 1,
      rand: seeded(2),
    });
    // Assess
    const expected = opensslEncrypt('aes-ctr', key, iv, data);
    expect(oneCall.ciphertext.equals(expected)).toBe(true);
    expect(oneCall.peak).toBe(3);
    expect(everyPart.ciphertext.equals(expected)).toBe(true);
    expect(everyPart.calls).toBe(13);
  });

  it('wraps the counter at 2^128 across a part boundary on different workers like openssl', async () => {
    // Prepare
    const key = randomBytes(16);
    const iv = Buffer.from('fffffffffffffffffffffffffffffffd', 'hex');
    const data = randomBytes(6 * 32 + 3);
    // Act
    const run = await encryptOnWorkers({
      key,
      iv,
      data,
      partSize: 32,
      workers: 2,
      partsPerCall: 3,
      rand: seeded(3),
    });
    // Assess
    expect(run.ciphertext.equals(opensslEncrypt('aes-ctr', key, iv, data))).toBe(true);
  });

  it('moves the part buffer to the worker and back instead of copying it', async () => {
    // Prepare
    const pool = new CtrWorkerPool(randomBytes(16), randomBytes(16), 1);
    pools.push(pool);
    const buffer = Buffer.allocUnsafeSlow(64 * 1024);
    // Act
    const pending = pool.encrypt({ buffer, length: 1000, offset: 0 });
    const detached = buffer.buffer.byteLength;
    const out = await pending;
    // Assess
    expect(detached).toBe(0);
    expect(out.length).toBe(1000);
    expect(out.buffer.byteLength).toBe(64 * 1024);
  });

  it('rejects a part buffer that shares its ArrayBuffer, which could not be transferred', () => {
    // Prepare
    const pool = new CtrWorkerPool(randomBytes(16), randomBytes(16), 1);
    pools.push(pool);
    const shared = Buffer.allocUnsafeSlow(4096).subarray(16);
    // Act
    const act = () => pool.encrypt({ buffer: shared, length: 32, offset: 0 });
    // Assess
    expect(act).toThrow(EncryptionFailedError);
  });

  it('sizes the pool to min(upload concurrency, cores), at least one', () => {
    // Act
    const one = ctrWorkerCount(1);
    const many = ctrWorkerCount(64);
    const none = ctrWorkerCount(0);
    // Assess
    expect(one).toBe(1);
    expect(many).toBeLessThanOrEqual(64);
    expect(many).toBeGreaterThanOrEqual(1);
    expect(none).toBe(1);
  });
});
