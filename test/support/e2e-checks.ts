/**
 * What the e2e files check after each case on the embedded stack: nothing left open or half-written for an
 * execution, queues drained, and — once at the end — no plaintext key anywhere in the data directory.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import {
  collectAssetIds,
  collectWrappedKeys,
  type LeakHit,
  scanTree,
  unwrapKeys,
  withKeyServiceContexts,
} from '../../bench/chaos/leaks.js';
import { queueDepth } from '../../bench/chaos/run.js';
import { MEDIACONVERT_CONTEXT } from '../../lib/kms/contexts.js';
import { assetPaths } from '../../lib/paths.js';
import type { ExecutionRecord } from '../../local/sfn/index.js';
import type { Notification, Stack } from '../../local/stack/index.js';

const PREFIXES = {
  inputPrefix: 'incoming/',
  encryptedPrefix: 'encrypted/',
  outputPrefix: 'outputs/',
  assetPrefix: 'assets/',
};
const TRANSCODER_CONTEXT = { service: 'elastictranscoder.amazonaws.com' };

/**
 * A valid MP4 made `bytes` long by a top-level `free` box after the clip's own boxes: players and ffmpeg skip it,
 * so a 2-second clip becomes a source of several multipart parts that still transcodes in seconds.
 */
export function paddedMp4(clip: Buffer, bytes: number): Buffer {
  const pad = bytes - clip.length;
  if (pad < 8) return clip;
  const box = Buffer.alloc(pad);
  box.writeUInt32BE(pad, 0);
  box.write('free', 4, 'latin1');
  return Buffer.concat([clip, box]);
}

export async function bodyOf(stack: Stack, key: string): Promise<Buffer> {
  const got = await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.bucket, Key: key }));
  return Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

/** Multipart uploads open on the bucket, optionally only those on keys starting with `prefix`. */
export async function openUploads(stack: Stack, prefix = ''): Promise<string[]> {
  const out = await stack.s3.send(
    new ListMultipartUploadsCommand({ Bucket: stack.config.bucket, Prefix: prefix }),
  );
  return (out.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
}

export async function untilQueueDrained(
  sqs: SQSClient,
  queueUrl: string,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let depth = await queueDepth(sqs, queueUrl);
  while (depth > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    depth = await queueDepth(sqs, queueUrl);
  }
  return depth;
}

/** The asset paths an execution works with, from its input (the same derivation ValidateSource uses). */
export function assetOf(record: ExecutionRecord) {
  const input = JSON.parse(record.input) as {
    source: { bucket: string; key: string; versionId?: string; sequencer?: string };
  };
  return assetPaths(input.source, PREFIXES);
}

/** What a failed execution left behind: its encrypted copy, asset record, outputs and open uploads. Empty is clean. */
export async function leftoversOf(stack: Stack, record: ExecutionRecord): Promise<string[]> {
  const paths = assetOf(record);
  const bucket = stack.config.bucket;
  const left: string[] = [];
  for (const key of [paths.encryptedKey, paths.assetRecordKey]) {
    const exists = await stack.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );
    if (exists) left.push(key);
  }
  const outputs = await stack.s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: paths.outputKeyPrefix }),
  );
  left.push(...(outputs.Contents ?? []).map((o) => o.Key ?? ''));
  left.push(...(await openUploads(stack, paths.encryptedKey)).map((u) => `upload ${u}`));
  return left;
}

/** Replaces an object's body, keeping its user metadata and content type (what a tamperer with write access does). */
export async function rewriteObject(
  stack: Stack,
  key: string,
  change: (body: Buffer) => Buffer,
): Promise<void> {
  const bucket = stack.config.bucket;
  const got = await stack.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  await stack.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: change(body),
      Metadata: got.Metadata ?? {},
      ...(got.ContentType ? { ContentType: got.ContentType } : {}),
    }),
  );
}

export function kmsClientFor(stack: Stack): KMSClient {
  return new KMSClient({
    region: stack.config.region,
    credentials: { ...stack.config.credentials },
    endpoint: stack.config.endpoints.kms,
  });
}

export interface LeakScan {
  keysRecovered: number;
  undecryptable: number;
  files: number;
  hits: LeakHit[];
}

/**
 * The chaos run's leak scan over one data directory: every data key the system stored a wrapped copy of (execution
 * history, notifications, JSON records) is unwrapped, the stack is stopped (S3 objects and their metadata are files
 * in the directory), and every file there is searched for each key in raw, base64 and hex form.
 */
export async function scanDataDirForKeys(stack: Stack, notifications: Notification[]): Promise<LeakScan> {
  const blobs = new Set<string>();
  const assetIds = new Set<string>();
  for (const record of stack.sfn.listExecutions({ stateMachineArn: stack.config.stateMachineArn })) {
    for (const event of stack.sfn.getExecutionHistory(record.executionArn)) {
      collectWrappedKeys(event, blobs);
      collectAssetIds(event, assetIds);
    }
  }
  for (const n of notifications) collectWrappedKeys(n, blobs);
  const kms = kmsClientFor(stack);
  const recovered = await unwrapKeys(
    kms,
    blobs,
    // MediaConvert's copies of the source key are under its own context (the default backend's).
    [...withKeyServiceContexts(TRANSCODER_CONTEXT, assetIds), { ...MEDIACONVERT_CONTEXT }],
  ).finally(() => kms.destroy());
  await stack.stop();
  const tree = scanTree(stack.dataDir, recovered.keys);
  for (const key of recovered.keys) key.fill(0);
  return {
    keysRecovered: recovered.keys.length,
    undecryptable: recovered.undecryptable,
    files: tree.files,
    hits: tree.hits,
  };
}
