/**
 * AES parts encrypted on worker threads, so the main thread only reads responses and writes request bodies.
 *
 * - CTR (`CtrWorkerPool`): every part's counter block is IV + offset/16 (`ctrCounterAt`), so parts need nothing from
 *   each other and go to a small pool, several at once.
 * - CBC (`CbcWorkerLane`): each part chains from the previous part's last ciphertext block, so the chain cannot be
 *   split; it runs on ONE worker, a sequential lane that keeps the chaining block itself and applies PKCS#7 padding
 *   on the final part. The main thread can queue part N+1 before part N comes back.
 *
 * Both are opt-in (`ctrWorkers`, `cbcWorker`): on the 2-core bench machine neither measured faster than the main-thread
 * cipher, whose work on part N+1 already overlaps the upload of part N (README, "Performance (measured)").
 *
 * Part buffers are transferred to a worker and back, never copied: the engine's buffer pool, and so its memory bound,
 * is unchanged. The key is copied once into each worker's startup data (transferred, not cloned), appears in no other
 * message, and is zeroed there on `close`.
 *
 * The worker is plain JavaScript evaluated from a string because the same module runs under tsx (CLI, bench), under
 * jest's VM modules and bundled by esbuild for Lambda; none of them can start a TypeScript worker file the same way.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { EncryptionMode } from '../contracts.js';
import { EncryptionFailedError } from '../errors.js';
import { AES_BLOCK, assertKeyAndIv, cipherName, ctrCounterAt } from './aes.js';

/**
 * Encrypts `buffer[0, length)` in place (the same slicing as `runInPlace` in aes.ts). A CTR job carries its counter
 * block; a CBC job carries none and chains from the lane's own block, which starts at `workerData.chain`. After a
 * failed CBC part the lane refuses further parts: their chaining block would be wrong.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv } = require('node:crypto');
// A view over the transferred memory, not a copy, so zeroing it on close leaves no key bytes in this isolate.
const key = Buffer.from(workerData.key.buffer, workerData.key.byteOffset, workerData.key.byteLength);
const name = workerData.name;
let chain = workerData.chain ? Buffer.from(workerData.chain) : undefined;
let broken;
const SLICE = 256 * 1024;
function run(cipher, buffer, length) {
  let written = 0;
  for (let pos = 0; pos < length; pos += SLICE) {
    const out = cipher.update(buffer.subarray(pos, Math.min(pos + SLICE, length)));
    out.copy(buffer, written);
    written += out.length;
  }
  const tail = cipher.final();
  tail.copy(buffer, written);
  return written + tail.length;
}
function cbc(buffer, m) {
  if (broken) throw new Error('an earlier part failed: ' + broken);
  if (!m.final && m.length % 16 !== 0) throw new Error('CBC middle part of ' + m.length + ' bytes is not a multiple of 16');
  if (buffer.length < m.length + 16) throw new Error('part buffer has no room for the padding block');
  const cipher = createCipheriv(name, key, chain);
  cipher.setAutoPadding(m.final);
  const length = run(cipher, buffer, m.length);
  if (length >= 16) chain = Buffer.from(buffer.subarray(length - 16, length));
  return length;
}
parentPort.on('message', (m) => {
  if (m.type === 'close') {
    key.fill(0);
    const keyZeroed = new Uint8Array(workerData.key.buffer).every((b) => b === 0);
    parentPort.postMessage({ type: 'closed', keyZeroed });
    parentPort.close();
    return;
  }
  try {
    const buffer = Buffer.from(m.buffer);
    const length = m.counter ? run(createCipheriv(name, key, Buffer.from(m.counter)), buffer, m.length) : cbc(buffer, m);
    parentPort.postMessage({ id: m.id, buffer: m.buffer, length }, [m.buffer]);
  } catch (e) {
    if (!m.counter) broken = broken || String(e && e.message);
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

export interface CbcPartJob {
  /** Plaintext in `buffer[0, length)`, room for one more block; must own its whole ArrayBuffer. */
  buffer: Buffer;
  length: number;
  /** The last part of the object: PKCS#7 padding is applied here and only here. */
  final: boolean;
}

export interface EncryptedPart {
  /** The part's memory, handed back from the worker: ciphertext in `buffer[0, length)`. */
  buffer: Buffer;
  length: number;
}

export interface ChainedPart extends EncryptedPart {
  /** The block the next part chains from (this part's last ciphertext block): the checkpoint's `chainBlock`. */
  chainBlock: Buffer;
}

/** Every message but the startup data has exactly these fields: no key material travels after the start. */
export const JOB_MESSAGE_FIELDS = ['id', 'buffer', 'length', 'counter', 'final', 'type'] as const;
type JobMessage = Partial<Record<(typeof JOB_MESSAGE_FIELDS)[number], unknown>>;

interface Reply {
  type?: 'closed';
  keyZeroed?: boolean;
  id?: number;
  buffer?: ArrayBuffer;
  length?: number;
  error?: string;
}

interface Pending {
  resolve: (p: EncryptedPart) => void;
  reject: (e: Error) => void;
}

/** min(upload concurrency, cores): more workers than uploads cannot help, more than cores only contend. */
export function ctrWorkerCount(uploadConcurrency: number): number {
  return Math.max(1, Math.min(uploadConcurrency, availableParallelism()));
}

function assertTransferable(buffer: Buffer): void {
  if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) {
    throw new EncryptionFailedError('a part buffer must own its ArrayBuffer to be transferred to a worker', {
      code: 'BAD_PART_BUFFER',
    });
  }
}

/** One worker thread and its jobs in flight. Jobs run, and settle, in the order they were posted. */
class CipherWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly exited: Promise<void>;
  private keyZeroed = false;
  private nextId = 0;

  private readonly label: string;

  constructor(key: Buffer, mode: EncryptionMode, chain?: Buffer) {
    this.label = mode === 'aes-ctr' ? 'CTR' : 'CBC';
    // Transferred, not cloned, so no copy of the key is left in a serialisation buffer on this thread.
    const own = new Uint8Array(key);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { key: own, name: cipherName(mode, key), chain },
      transferList: [own.buffer],
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (reply: Reply) => this.settle(reply));
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.once('exit', () => this.failAll(new Error('worker exited')));
  }

  get load(): number {
    return this.pending.size;
  }

  run(buffer: Buffer, fields: Omit<JobMessage, 'id' | 'buffer' | 'type'>): Promise<EncryptedPart> {
    assertTransferable(buffer);
    const id = this.nextId++;
    return new Promise<EncryptedPart>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: JobMessage = { ...fields, id, buffer: buffer.buffer };
      this.worker.postMessage(message, [buffer.buffer as ArrayBuffer]);
    });
  }

  private settle(reply: Reply): void {
    if (reply.type === 'closed') {
      this.keyZeroed = reply.keyZeroed === true;
      return;
    }
    const p = reply.id === undefined ? undefined : this.pending.get(reply.id);
    if (!p || reply.id === undefined) return;
    this.pending.delete(reply.id);
    if (reply.error !== undefined || reply.length === undefined || !reply.buffer) {
      p.reject(
        new EncryptionFailedError(`${this.label} part encryption failed: ${reply.error ?? 'no result'}`, {
          code: 'ENCRYPTION_FAILED',
        }),
      );
      return;
    }
    p.resolve({ buffer: Buffer.from(reply.buffer), length: reply.length });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) {
      p.reject(
        new EncryptionFailedError(`${this.label} worker failed: ${e.message}`, {
          code: 'ENCRYPTION_FAILED',
          cause: e,
        }),
      );
    }
    this.pending.clear();
  }

  /** Resolves true once the worker has zeroed its key and exited. Safe to call twice. */
  async close(): Promise<boolean> {
    this.worker.postMessage({ type: 'close' } satisfies JobMessage);
    await this.exited;
    return this.keyZeroed;
  }
}

export class CtrWorkerPool {
  private readonly workers: CipherWorker[] = [];
  private readonly iv: Buffer;

  /** The plaintext key is copied once into each worker and zeroed there on `close`. */
  constructor(
    key: Buffer,
    iv: Buffer,
    readonly size: number,
  ) {
    assertKeyAndIv(key, iv);
    this.iv = Buffer.from(iv);
    for (let i = 0; i < size; i += 1) this.workers.push(new CipherWorker(key, 'aes-ctr'));
  }

  encrypt(job: CtrPartJob): Promise<EncryptedPart> {
    const counter = new Uint8Array(ctrCounterAt(this.iv, job.offset));
    assertTransferable(job.buffer);
    const worker = this.workers.reduce((a, b) => (b.load < a.load ? b : a));
    return worker.run(job.buffer, { length: job.length, counter });
  }

  /** Zeroes the key in every worker and waits for them to exit; true when every worker confirmed the zeroing. */
  async close(): Promise<boolean> {
    const zeroed = await Promise.all(this.workers.map((w) => w.close()));
    return zeroed.every(Boolean);
  }
}

/**
 * The CBC chain on one worker thread. Parts must be handed over in order, the final one last; results come back in
 * the same order. `chain` is where this invocation starts: the IV, or the checkpoint's chaining block on resume.
 */
export class CbcWorkerLane {
  private readonly worker: CipherWorker;
  private chain: Buffer;

  constructor(key: Buffer, chain: Buffer) {
    assertKeyAndIv(key, chain);
    this.chain = Buffer.from(chain);
    this.worker = new CipherWorker(key, 'aes-cbc-pkcs7', this.chain);
  }

  encrypt(job: CbcPartJob): Promise<ChainedPart> {
    return this.worker.run(job.buffer, { length: job.length, final: job.final }).then((out) => {
      // Mirrors the worker's own chain, which it never sends: the last ciphertext block, or unchanged if none.
      if (out.length >= AES_BLOCK)
        this.chain = Buffer.from(out.buffer.subarray(out.length - AES_BLOCK, out.length));
      return { ...out, chainBlock: this.chain };
    });
  }

  /** Zeroes the key in the worker and waits for it to exit; true when the worker confirmed the zeroing. */
  close(): Promise<boolean> {
    return this.worker.close();
  }
}
