/**
 * AES-CTR parts encrypted concurrently on a small worker_threads pool (issue 5: "CTR runs in parallel"). Every part's
 * counter block is IV + offset/16 (`ctrCounterAt`), so parts need nothing from each other. Part buffers are
 * transferred to a worker and back, never copied: the engine's buffer pool, and so its memory bound, is unchanged.
 * Opt-in (`ctrWorkers`): on the 2-core bench machine it measured no faster than the main-thread cipher, whose
 * encryption of part N+1 already overlaps the upload of part N.
 *
 * The worker is plain JavaScript evaluated from a string because the same module runs under tsx (CLI, bench), under
 * jest's VM modules and bundled by esbuild for Lambda; none of them can start a TypeScript worker file the same way.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { EncryptionFailedError } from '../errors.js';
import { assertKeyAndIv, cipherName, ctrCounterAt } from './aes.js';

/** Encrypts `buffer[0, length)` in place with the given counter block (the same slicing as `runInPlace` in aes.ts). */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv } = require('node:crypto');
const key = Buffer.from(workerData.key);
const SLICE = 256 * 1024;
parentPort.on('message', (m) => {
  if (m.type === 'close') {
    key.fill(0);
    parentPort.close();
    return;
  }
  try {
    const buffer = Buffer.from(m.buffer);
    const cipher = createCipheriv(workerData.name, key, Buffer.from(m.counter));
    let written = 0;
    for (let pos = 0; pos < m.length; pos += SLICE) {
      const out = cipher.update(buffer.subarray(pos, Math.min(pos + SLICE, m.length)));
      out.copy(buffer, written);
      written += out.length;
    }
    const tail = cipher.final();
    tail.copy(buffer, written);
    parentPort.postMessage({ id: m.id, buffer: m.buffer, length: written + tail.length }, [m.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: m.id, buffer: m.buffer, error: String(e && e.message) }, [m.buffer]);
  }
});
`;

export interface CtrPartJob {
  /** Plaintext in `buffer[0, length)`; must own its whole ArrayBuffer (the engine's pool buffers do). */
  buffer: Buffer;
  length: number;
  /** Plaintext byte offset of the part in the object, a multiple of 16. */
  offset: number;
}

export interface EncryptedPart {
  /** The part's memory, handed back from the worker: ciphertext in `buffer[0, length)`. */
  buffer: Buffer;
  length: number;
}

interface Reply {
  id: number;
  buffer: ArrayBuffer;
  length?: number;
  error?: string;
}

interface Pending {
  resolve: (p: EncryptedPart) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  exited: Promise<void>;
}

/** min(upload concurrency, cores): more workers than uploads cannot help, more than cores only contend. */
export function ctrWorkerCount(uploadConcurrency: number): number {
  return Math.max(1, Math.min(uploadConcurrency, availableParallelism()));
}

export class CtrWorkerPool {
  private readonly slots: Slot[] = [];
  private readonly iv: Buffer;
  private nextId = 0;

  /** The plaintext key is copied once into each worker and zeroed there on `close`. */
  constructor(
    key: Buffer,
    iv: Buffer,
    readonly size: number,
  ) {
    assertKeyAndIv(key, iv);
    this.iv = Buffer.from(iv);
    const name = cipherName('aes-ctr', key);
    for (let i = 0; i < size; i += 1) {
      // Transferred, not cloned, so no copy of the key is left in a serialisation buffer on this thread.
      const own = new Uint8Array(key);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { key: own, name },
        transferList: [own.buffer],
      });
      const slot: Slot = {
        worker,
        pending: new Map(),
        exited: new Promise((resolve) => worker.once('exit', () => resolve())),
      };
      worker.on('message', (reply: Reply) => this.settle(slot, reply));
      const fail = (e: Error) => {
        for (const p of slot.pending.values()) {
          p.reject(
            new EncryptionFailedError(`CTR worker failed: ${e.message}`, {
              code: 'ENCRYPTION_FAILED',
              cause: e,
            }),
          );
        }
        slot.pending.clear();
      };
      worker.on('error', fail);
      worker.once('exit', () => fail(new Error('worker exited')));
      this.slots.push(slot);
    }
  }

  encrypt(job: CtrPartJob): Promise<EncryptedPart> {
    const counter = ctrCounterAt(this.iv, job.offset);
    const { buffer } = job;
    if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) {
      throw new EncryptionFailedError('a CTR part buffer must own its ArrayBuffer to be transferred', {
        code: 'BAD_PART_BUFFER',
      });
    }
    const slot = this.slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    return new Promise<EncryptedPart>((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage(
        { id, buffer: buffer.buffer, length: job.length, counter: new Uint8Array(counter) },
        [buffer.buffer as ArrayBuffer],
      );
    });
  }

  private settle(slot: Slot, reply: Reply): void {
    const p = slot.pending.get(reply.id);
    if (!p) return;
    slot.pending.delete(reply.id);
    if (reply.error !== undefined || reply.length === undefined) {
      p.reject(
        new EncryptionFailedError(`CTR part encryption failed: ${reply.error ?? 'no result'}`, {
          code: 'ENCRYPTION_FAILED',
        }),
      );
      return;
    }
    p.resolve({ buffer: Buffer.from(reply.buffer), length: reply.length });
  }

  /** Zeroes the key in every worker and waits for them to exit. Safe to call twice. */
  async close(): Promise<void> {
    for (const s of this.slots) s.worker.postMessage({ type: 'close' });
    await Promise.all(this.slots.map((s) => s.exited));
  }
}
