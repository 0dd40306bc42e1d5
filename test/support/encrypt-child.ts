/**
 * A stand-in for the EncryptSource Lambda in its own process, for the kill-and-resume test: it runs the engine
 * invocation after invocation (each stops after `partsPerInvocation` parts, as a spent time budget would) and prints
 * every returned checkpoint as a `CHECKPOINT <json>` line, which is what the state machine would keep.
 *
 *   node bin/run-ts.js test/support/encrypt-child.ts '<EncryptChildJob as JSON>'
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { Checkpoint, EncryptionMode } from '../../lib/contracts.js';
import { encryptToMultipart } from '../../lib/encrypt/engine.js';
import type { S3ObjectRef } from '../../lib/s3/ranged-reader.js';
import { dataDirCredentials } from './credentials.js';

export const CHECKPOINT_MARK = 'CHECKPOINT ';

export interface EncryptChildJob {
  endpoint: string;
  /** Where the gateway's credentials live: the child signs with them, as a Lambda would with its role's. */
  dataDir: string;
  source: S3ObjectRef;
  destination: { bucket: string; key: string };
  mode: EncryptionMode;
  keyHex: string;
  ivHex: string;
  partSize: number;
  partsPerInvocation: number;
  checkpoint?: Checkpoint;
}

async function main(job: EncryptChildJob): Promise<void> {
  const s3 = new S3Client({
    endpoint: job.endpoint,
    region: 'us-east-1',
    credentials: dataDirCredentials(job.dataDir).credentials,
    forcePathStyle: true,
  });
  let checkpoint = job.checkpoint;
  do {
    let asked = 0;
    checkpoint = await encryptToMultipart({
      s3,
      source: job.source,
      destination: { ...job.destination, metadata: { 'st-mode': job.mode } },
      key: Buffer.from(job.keyHex, 'hex'),
      iv: Buffer.from(job.ivHex, 'hex'),
      mode: job.mode,
      checkpoint,
      partSizeBytes: job.partSize,
      readAhead: 2,
      uploadConcurrency: 2,
      // Asked before every part but the first: this budget runs out after `partsPerInvocation` parts.
      shouldYield: () => {
        asked += 1;
        return asked >= job.partsPerInvocation;
      },
    });
    process.stdout.write(`${CHECKPOINT_MARK}${JSON.stringify(checkpoint)}\n`);
  } while (!checkpoint.done);
}

if (process.argv[1]?.endsWith('encrypt-child.ts')) {
  await main(JSON.parse(process.argv[2] ?? '{}') as EncryptChildJob);
}
