/**
 * Reading back one chaos run's inputs: what each one started (executions, transcode jobs, notifications), whether a
 * success is byte-correct (the encrypted source decrypts to the upload, every listed output exists), and whether each
 * bad input failed the way it should.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Notification, Stack } from '../../local/stack/index.js';
import type { ChaosInput } from './corpus.js';
import { collectAssetIds, collectWrappedKeys, unwrapKeys } from './leaks.js';

/** What chaos found for one input: its executions, jobs, notifications and whether its outputs check out. */
export interface InputResult {
  key: string;
  kind: 'good' | 'bad';
  label: string;
  executions: number;
  /** Elastic Transcoder jobs created for this input's executions (job records tagged with the execution name). */
  transcodeJobs: number;
  notifications: number;
  status: 'SUCCEEDED' | 'FAILED' | 'NONE';
  errorCode?: string;
  errorMessage?: string;
  step?: string;
  seconds?: number;
  /** Good inputs: the encrypted object decrypts to the uploaded bytes and every listed output exists. */
  verified?: boolean;
  ok: boolean;
}

export const TRANSCODER_CONTEXT = { service: 'elastictranscoder.amazonaws.com' };

async function bodyOf(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(
    await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

/** Decrypts the encrypted source with its unwrapped key and checks every output the notification lists exists. */
export async function verifySuccess(
  stack: Stack,
  kms: KMSClient,
  n: Notification,
  expected: Buffer,
): Promise<boolean> {
  // The local stack opts into carrying the wrapped key in notifications (NOTIFY_INCLUDE_WRAPPED_KEY).
  if (!n.encrypted?.wrappedKey) return false;
  const recovered = await unwrapKeys(kms, [n.encrypted.wrappedKey], TRANSCODER_CONTEXT);
  const key = recovered.keys[0];
  if (!key) return false;
  const ciphertext = await bodyOf(stack.s3, n.encrypted.bucket, n.encrypted.key);
  const iv = Buffer.from(n.encrypted.initializationVector, 'base64');
  const algorithm = `aes-${key.length * 8}-${n.encrypted.mode === 'aes-ctr' ? 'ctr' : 'cbc'}`;
  const decipher = createDecipheriv(algorithm, key, iv);
  const plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  key.fill(0);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  if (sha(plain) !== sha(expected)) return false;
  const keys = [...n.outputs.map((o) => o.key), ...n.playlists.map((p) => p.key)];
  if (keys.length === 0) return false;
  for (const key of keys) {
    const exists = await stack.s3.send(new HeadObjectCommand({ Bucket: stack.config.bucket, Key: key })).then(
      () => true,
      () => false,
    );
    if (!exists) return false;
  }
  return true;
}

export function readJsonValues(path: string): unknown[] {
  const text = readFileSync(path, 'utf8');
  if (path.endsWith('.jsonl')) {
    return text.split('\n').flatMap((line) => {
      try {
        return line.trim() ? [JSON.parse(line)] : [];
      } catch {
        return [];
      }
    });
  }
  try {
    return [JSON.parse(text)];
  } catch {
    return [];
  }
}

export function* jsonFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* jsonFiles(path);
    else if (entry.isFile() && /\.jsonl?$/.test(entry.name)) yield path;
  }
}

type JobRecord = { UserMetadata?: { execution?: string }; userMetadata?: { execution?: string } };

/**
 * The local transcoders' job records (Elastic Transcoder's `UserMetadata`, MediaConvert's `userMetadata`), counted
 * by the execution name the workflow tags them with.
 */
export function transcodeJobsByExecution(dataDir: string): Map<string, number> {
  const counts = new Map<string, number>();
  const files = [
    ...jsonFiles(join(dataDir, 'transcoder', 'jobs')),
    ...jsonFiles(join(dataDir, 'mediaconvert', 'jobs')),
  ];
  for (const file of files) {
    for (const job of readJsonValues(file) as JobRecord[]) {
      const name = job.UserMetadata?.execution ?? job.userMetadata?.execution;
      if (name) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  return counts;
}

export interface Assessment {
  results: InputResult[];
  retriesByError: Record<string, number>;
  /** Wrapped keys and asset ids seen in the executions' histories (what the leak scan unwraps). */
  historyBlobs: Set<string>;
  historyAssetIds: Set<string>;
  verified: number;
}

/** One result per input, from the executions started at or after `runStart` and the notifications received. */
export async function assessInputs(
  stack: Stack,
  kms: KMSClient,
  inputs: ChaosInput[],
  notifications: Map<string, Notification[]>,
  runStart: number,
  dataDir: string,
): Promise<Assessment> {
  const jobsByExecution = transcodeJobsByExecution(dataDir);
  const results: InputResult[] = [];
  const retriesByError: Record<string, number> = {};
  const historyBlobs = new Set<string>();
  const historyAssetIds = new Set<string>();
  let verified = 0;
  for (const input of inputs) {
    const executions = stack.executionsFor(input.key).filter((r) => r.startDate >= runStart);
    for (const record of executions) {
      for (const event of stack.sfn.getExecutionHistory(record.executionArn)) {
        collectWrappedKeys(event, historyBlobs);
        collectAssetIds(event, historyAssetIds);
        if (event.type !== 'StateRetried') continue;
        const details = event as { evaluationFailedEventDetails?: { error?: string } };
        const error = details.evaluationFailedEventDetails?.error ?? 'unknown';
        retriesByError[error] = (retriesByError[error] ?? 0) + 1;
      }
    }
    const got = notifications.get(input.key) ?? [];
    const n = got[0];
    const label = input.kind === 'bad' ? input.label : 'good';
    const result: InputResult = {
      key: input.key,
      kind: input.kind,
      label,
      executions: executions.length,
      transcodeJobs: executions.reduce((a, r) => a + (jobsByExecution.get(r.name) ?? 0), 0),
      notifications: got.length,
      status: n?.status ?? 'NONE',
      ok: false,
    };
    if (n?.error)
      Object.assign(result, { errorCode: n.error.code, errorMessage: n.error.message, step: n.error.step });
    const record = executions[0];
    if (record?.stopDate) result.seconds = Math.round((record.stopDate - record.startDate) / 100) / 10;
    if (input.kind === 'good') {
      result.verified = n?.status === 'SUCCEEDED' ? await verifySuccess(stack, kms, n, input.body) : false;
      if (result.verified) verified += 1;
      result.ok =
        result.verified && got.length === 1 && executions.length === 1 && result.transcodeJobs === 1;
    } else {
      result.ok =
        n?.status === 'FAILED' &&
        input.expectedCodes.includes(n.error?.code ?? '') &&
        Boolean(n.error?.message) &&
        got.length === 1 &&
        executions.length === 1 &&
        result.transcodeJobs <= 1;
    }
    results.push(result);
  }

  return { results, retriesByError, historyBlobs, historyAssetIds, verified };
}
