import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from '@jest/globals';
import type { EncryptionMode } from '../../../lib/contracts.js';
import { createPartCipher, type PartCipher } from '../../../lib/crypto/aes.js';
import { runPartPipeline } from '../../../lib/encrypt/pipeline.js';
import type { PartSink } from '../../../lib/s3/multipart.js';
import { opensslEncrypt } from '../../support/openssl.js';

/** Uploads that take 30 ms each, at most `concurrency` at a time, like MultipartWriter. */
function slowSink(concurrency: number): PartSink & { inFlight: () => number; parts: Map<number, Buffer> } {
  const running = new Set<Promise<void>>();
  const parts = new Map<number, Buffer>();
  return {
    parts,
    inFlight: () => running.size,
    async submit(partNumber, data, release) {
      while (running.size >= concurrency) await Promise.race(running);
      const copy = Buffer.from(data);
      const p: Promise<void> = sleep(30).then(() => {
        parts.set(partNumber, copy);
        release();
        running.delete(p);
      });
      running.add(p);
    },
    async drain() {
      await Promise.all(running);
    },
  };
}

describe('runPartPipeline', () => {
  it.each(['aes-cbc-pkcs7', 'aes-ctr'] as const)(
    'encrypts part N+1 of %s while part N is still uploading',
    async (mode: EncryptionMode) => {
      // Prepare
      const key = randomBytes(16);
      const iv = randomBytes(16);
      const data = randomBytes(6 * 1024 + 5);
      const sink = slowSink(3);
      const inner = createPartCipher(mode, key, iv);
      const uploadsDuringEncrypt: number[] = [];
      const cipher: PartCipher = {
        mode,
        encryptPart: (part) => {
          uploadsDuringEncrypt.push(sink.inFlight());
          return inner.encryptPart(part);
        },
      };
      // Act
      const result = await runPartPipeline({
        source: {
          size: data.length,
          readInto: async (offset, length, target) => {
            data.copy(target, 0, offset, offset + length);
          },
        },
        sink,
        cipher,
        partSize: 1024,
        firstPart: 1,
        chainBlock: iv,
        readAhead: 2,
        sinkConcurrency: 3,
        shouldYield: () => false,
      });
      // Assess
      const stored = Buffer.concat([...sink.parts.entries()].sort(([a], [b]) => a - b).map(([, p]) => p));
      expect(stored.equals(opensslEncrypt(mode, key, iv, data))).toBe(true);
      expect(result).toMatchObject({ nextPartNumber: 8, done: true });
      expect(uploadsDuringEncrypt.slice(1).every((n) => n >= 1)).toBe(true);
      expect(result.buffersAllocated).toBeLessThanOrEqual(2 + 3 + 1);
    },
  );
});
