import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { AES_BLOCK, createPartCipher } from '../../../lib/crypto/aes.js';
import { CbcWorkerLane, JOB_MESSAGE_FIELDS } from '../../../lib/crypto/cipher-workers.js';
import { runPartPipeline, type SequentialPartCipher } from '../../../lib/encrypt/pipeline.js';
import { EncryptionFailedError } from '../../../lib/errors.js';
import type { PartSink } from '../../../lib/s3/multipart.js';
import type { RangeSource } from '../../../lib/s3/ranged-reader.js';
import { opensslEncrypt, seeded } from '../../support/openssl.js';

const memorySource = (data: Buffer): RangeSource => ({
  size: data.length,
  readInto: async (offset, length, target) => {
    data.copy(target, 0, offset, offset + length);
  },
});

/** Keeps each part's bytes; a random delay per upload, at most `concurrency` at once, like MultipartWriter. */
function memorySink(rand: () => number, concurrency = 3): PartSink & { parts: Map<number, Buffer> } {
  const parts = new Map<number, Buffer>();
  const inFlight = new Set<Promise<void>>();
  return {
    parts,
    async submit(partNumber, data, release) {
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      const p = sleep(Math.floor(rand() * 4)).then(() => {
        parts.set(partNumber, Buffer.from(data));
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

/** Counts parts handed to the lane and not yet back: above 1 means the main thread did not wait for the chain. */
function counting(lane: CbcWorkerLane): SequentialPartCipher & { peak: number } {
  let now = 0;
  const c = {
    peak: 0,
    async encrypt(part: Parameters<CbcWorkerLane['encrypt']>[0]) {
      now += 1;
      c.peak = Math.max(c.peak, now);
      try {
        return await lane.encrypt(part);
      } finally {
        now -= 1;
      }
    },
  };
  return c;
}

/**
 * Runs the CBC pipeline as a series of invocations, each with a fresh lane started from the checkpoint's chaining
 * block (carried as base64, as in the state machine's payload), stopping after `partsPerCall` parts.
 */
async function encryptOnLane(opts: {
  key: Buffer;
  iv: Buffer;
  data: Buffer;
  partSize: number;
  partsPerCall: number;
  rand: () => number;
}): Promise<{ ciphertext: Buffer; peak: number; maxBuffers: number; calls: number; zeroed: boolean[] }> {
  const sink = memorySink(opts.rand);
  let next = 1;
  let chainBlock = opts.iv.toString('base64');
  let peak = 0;
  let maxBuffers = 0;
  let calls = 0;
  const zeroed: boolean[] = [];
  for (let done = false; !done; calls += 1) {
    const lane = new CbcWorkerLane(opts.key, Buffer.from(chainBlock, 'base64'));
    const cipher = counting(lane);
    let asked = 0;
    try {
      const result = await runPartPipeline({
        source: memorySource(opts.data),
        sink,
        cipher: createPartCipher('aes-cbc-pkcs7', opts.key, opts.iv),
        cipherLane: cipher,
        partSize: opts.partSize,
        firstPart: next,
        chainBlock: Buffer.from(chainBlock, 'base64'),
        readAhead: 2,
        sinkConcurrency: 3,
        shouldYield: () => {
          asked += 1;
          return asked >= opts.partsPerCall;
        },
      });
      next = result.nextPartNumber;
      chainBlock = result.chainBlock.toString('base64');
      done = result.done;
      peak = Math.max(peak, cipher.peak);
      maxBuffers = Math.max(maxBuffers, result.buffersAllocated);
    } finally {
      zeroed.push(await lane.close());
    }
  }
  const ciphertext = Buffer.concat([...sink.parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p));
  return { ciphertext, peak, maxBuffers, calls, zeroed };
}

describe('the CBC chain on one worker thread matches openssl enc -nosalt', () => {
  const lanes: CbcWorkerLane[] = [];
  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(lanes.splice(0).map((l) => l.close()));
  });

  it('matches openssl for random sizes, part sizes, key sizes and resume points (property, 24 seeded cases)', async () => {
    // Prepare
    const prop = seeded(0xcbc1);
    const mismatches: string[] = [];
    let queued = 0;
    for (let i = 0; i < 24; i += 1) {
      const bits = [128, 192, 256][Math.floor(prop() * 3)] ?? 128;
      const partSize = AES_BLOCK * (1 + Math.floor(prop() * 64));
      const size = Math.floor(prop() * partSize * 9);
      const partsPerCall = 1 + Math.floor(prop() * 4);
      const key = randomBytes(bits / 8);
      const iv = randomBytes(16);
      const data = randomBytes(size);
      // Act
      const run = await encryptOnLane({ key, iv, data, partSize, partsPerCall, rand: prop });
      if (!run.ciphertext.equals(opensslEncrypt('aes-cbc-pkcs7', key, iv, data))) {
        mismatches.push(`aes-${bits} size=${size} part=${partSize} perCall=${partsPerCall}`);
      }
      if (run.peak > 1) queued += 1;
      // Memory: never more part buffers than read-ahead + sink concurrency + 1.
      expect(run.maxBuffers).toBeLessThanOrEqual(2 + 3 + 1);
      expect(run.zeroed.every(Boolean)).toBe(true);
    }
    // Assess
    expect(mismatches).toEqual([]);
    expect(queued).toBeGreaterThan(0);
  });

  it.each([128, 192, 256])(
    'encrypts the boundary sizes with AES-%i, resuming at every part boundary with a new lane',
    async (bits) => {
      // Prepare
      const part = 64;
      const sizes = [0, 1, 15, 16, 17, part - 1, part, part + 1, 3 * part, 3 * part + 5];
      const key = randomBytes(bits / 8);
      const iv = randomBytes(16);
      const mismatches: number[] = [];
      // Act
      for (const size of sizes) {
        const data = randomBytes(size);
        const oneCall = await encryptOnLane({
          key,
          iv,
          data,
          partSize: part,
          partsPerCall: 100,
          rand: seeded(size),
        });
        const everyPart = await encryptOnLane({
          key,
          iv,
          data,
          partSize: part,
          partsPerCall: 1,
          rand: seeded(~size),
        });
        const expected = opensslEncrypt('aes-cbc-pkcs7', key, iv, data);
        if (!oneCall.ciphertext.equals(expected) || !everyPart.ciphertext.equals(expected))
          mismatches.push(size);
        expect(everyPart.calls).toBe(Math.max(1, Math.ceil(size / part)));
      }
      // Assess
      expect(mismatches).toEqual([]);
    },
  );

  it('moves the part buffer to the worker and back instead of copying it', async () => {
    // Prepare
    const lane = new CbcWorkerLane(randomBytes(16), randomBytes(16));
    lanes.push(lane);
    const buffer = Buffer.allocUnsafeSlow(64 * 1024);
    // Act
    const pending = lane.encrypt({ buffer, length: 1000, final: true });
    const detached = buffer.buffer.byteLength;
    const out = await pending;
    // Assess
    expect(detached).toBe(0);
    expect(out.length).toBe(1008);
    expect(out.buffer.byteLength).toBe(64 * 1024);
    expect(out.chainBlock.equals(out.buffer.subarray(992, 1008))).toBe(true);
  });

  it('sends the key only in the startup data, never in a part message', async () => {
    // Prepare
    const key = randomBytes(32);
    const posted: Array<Record<string, unknown>> = [];
    const original = Worker.prototype.postMessage;
    jest.spyOn(Worker.prototype, 'postMessage').mockImplementation(function (
      this: Worker,
      message,
      transfer,
    ) {
      const m = message as Record<string, unknown>;
      // Snapshot before the transfer detaches the part buffer.
      posted.push(
        Object.fromEntries(
          Object.entries(m).map(([k, v]) => [k, v instanceof ArrayBuffer ? Buffer.from(v.slice(0)) : v]),
        ),
      );
      original.call(this, message, transfer);
    });
    const lane = new CbcWorkerLane(key, randomBytes(16));
    const data = Buffer.concat([key, key, randomBytes(40)]);
    // Act
    const buffer = Buffer.allocUnsafeSlow(256);
    data.copy(buffer);
    await lane.encrypt({ buffer, length: 64, final: false });
    await lane.encrypt({ buffer: Buffer.alloc(64), length: 5, final: true });
    await lane.close();
    // Assess
    expect(posted.length).toBe(3);
    for (const m of posted) {
      expect(Object.keys(m).every((k) => (JOB_MESSAGE_FIELDS as readonly string[]).includes(k))).toBe(true);
    }
    // The only place the key bytes appear is the plaintext part the test chose to make of them.
    const withKey = posted.filter((m) => Object.values(m).some((v) => Buffer.isBuffer(v) && v.includes(key)));
    expect(withKey).toEqual([posted[0]]);
    expect(posted[0]?.buffer).toBeDefined();
  });

  it('zeroes the key in the worker on close and can be closed twice', async () => {
    // Prepare
    const lane = new CbcWorkerLane(randomBytes(24), randomBytes(16));
    await lane.encrypt({ buffer: Buffer.allocUnsafeSlow(64), length: 32, final: false });
    // Act
    const first = await lane.close();
    const second = await lane.close();
    // Assess
    expect(first).toBe(true);
    expect(second).toBe(true);
  });

  it('fails with EncryptionFailedError on a middle part that is not block-aligned and uploads nothing', async () => {
    // Prepare
    const key = randomBytes(16);
    const iv = randomBytes(16);
    const data = randomBytes(20 * 1000);
    const sink = memorySink(seeded(7));
    const lane = new CbcWorkerLane(key, iv);
    lanes.push(lane);
    // Act
    const run = runPartPipeline({
      source: memorySource(data),
      sink,
      cipher: createPartCipher('aes-cbc-pkcs7', key, iv),
      cipherLane: lane,
      partSize: 1000,
      firstPart: 1,
      chainBlock: iv,
      readAhead: 2,
      sinkConcurrency: 3,
      shouldYield: () => false,
    });
    // Assess
    await expect(run).rejects.toThrow(EncryptionFailedError);
    expect(sink.parts.size).toBe(0);
  });

  it('refuses the parts queued after a failed one, whose chaining block would be wrong', async () => {
    // Prepare
    const lane = new CbcWorkerLane(randomBytes(16), randomBytes(16));
    lanes.push(lane);
    // Act
    const bad = lane.encrypt({ buffer: Buffer.allocUnsafeSlow(64), length: 17, final: false });
    const after = lane.encrypt({ buffer: Buffer.allocUnsafeSlow(64), length: 32, final: false });
    // Assess
    await expect(bad).rejects.toThrow(EncryptionFailedError);
    await expect(after).rejects.toThrow(/an earlier part failed/);
  });

  it('rejects a part buffer that shares its ArrayBuffer, which could not be transferred', () => {
    // Prepare
    const lane = new CbcWorkerLane(randomBytes(16), randomBytes(16));
    lanes.push(lane);
    const shared = Buffer.allocUnsafeSlow(4096).subarray(16);
    // Act
    const act = () => lane.encrypt({ buffer: shared, length: 32, final: false });
    // Assess
    expect(act).toThrow(EncryptionFailedError);
  });
});
