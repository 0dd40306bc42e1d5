/**
 * The chaos run: N copies of one clip under awkward keys plus bad inputs, uploaded to the embedded stack
 * with faults injected, then an account of what came out — nothing lost, nothing doubled, no key leaked, every
 * success byte-correct. The stack is either started here (and stopped before the scan of its data directory, S3 objects included)
 * or passed in by a test that runs other scenarios on the same stack.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { TranscoderBackend } from '../../lib/config/transcoder.js';
import { FaultInjector, type FaultRule, type FaultStat } from '../../local/faults.js';
import type { Notification, Stack } from '../../local/stack/index.js';
import { uploadFile } from '../../local/stack/upload.js';
import { badInputs, type ChaosInput, generateClip, goodInputs } from './corpus.js';
import type { LeakHit } from './leaks.js';
import { s3EventFor, sendCopies } from './redelivery.js';
import { listKeys, scanForLeaks, sourcesLeft } from './scan.js';
import { assessInputs, type InputResult } from './verify.js';

export { s3EventFor, sendCopies };

export const DEFAULT_RATE_FAULTS =
  'kms:*:throttle:0.2,s3:GetObject:slowdown:0.2,s3:UploadPart:internal:0.2,transcoder:CreateJob:throttle:0.2,transcoder:ReadJob:throttle:0.2';

/**
 * CreateJob goes out without SDK retries (it has no client token), so every CreateJob throttle is retried by the
 * state machine and shows up in the history. Two scheduled throttles guarantee that a small run shows some; more
 * would only test how fast `--fast` retries burn through the attempts, not the workflow.
 */
export const CREATE_JOB_BURST = 'transcoder:CreateJob:throttle@1+2';

/** Connection resets (the socket closes before any answer), on top of the 20% of wire errors. */
export const RESET_FAULTS = 's3:UploadPart:reset:0.1,transcoder:ReadJob:reset:0.1';

export const DEFAULT_FAULT_SPEC = `${CREATE_JOB_BURST},${DEFAULT_RATE_FAULTS},${RESET_FAULTS}`;

/**
 * The default faults for a backend. Fault rules name the transcoder's own operations: the job poll is Elastic
 * Transcoder's ReadJob and MediaConvert's GetJob, so a MediaConvert run throttles and resets GetJob instead.
 */
export function defaultFaultSpec(backend: TranscoderBackend): string {
  return backend === 'mediaconvert'
    ? DEFAULT_FAULT_SPEC.replaceAll('transcoder:ReadJob:', 'transcoder:GetJob:')
    : DEFAULT_FAULT_SPEC;
}

export interface ChaosOptions {
  jobs: number;
  /** Upload the bad-input corpus too. */
  bad: boolean;
  /** Extra deliveries of each object's S3 event, sent once its execution has started. */
  duplicates: number;
  /** The transcoder of the stack this run starts (ignored with `stack`); default mediaconvert, as deployed. */
  backend?: TranscoderBackend;
  /** Fault spec (local/faults.ts); default `defaultFaultSpec(backend)`. */
  faults?: string;
  timeoutMs: number;
  clipSeconds: number;
  /** Run on this stack and leave it running; otherwise one is started on `dataDir` and stopped at the end. */
  stack?: Stack;
  dataDir?: string;
  ffmpegPath: string;
  log?: (line: string) => void;
}

export const SMALL_PRESET = {
  jobs: 4,
  bad: true,
  duplicates: 3,
  clipSeconds: 2,
  timeoutMs: 150_000,
} as const;
export const DEFAULT_PRESET = {
  jobs: 20,
  bad: true,
  duplicates: 2,
  clipSeconds: 2,
  timeoutMs: 600_000,
} as const;

export interface ChaosReport {
  startedAt: string;
  wallSeconds: number;
  dataDir: string;
  backend: TranscoderBackend;
  faultSpec: string;
  jobs: number;
  badInputs: number;
  duplicateDeliveriesPerObject: number;
  faultsInjected: number;
  faultStats: FaultStat[];
  retries: number;
  retriesByError: Record<string, number>;
  succeeded: number;
  failedWithNotification: number;
  lost: number;
  duplicated: number;
  leaks: number;
  verified: number;
  keysRecovered: number;
  undecryptableBlobs: number;
  scanned: { files: number; bytes: number; objects: number };
  openMultipartUploads: number;
  /** This run's encrypted/ and outputs/ objects of no successful asset, and source versions a success left. */
  leftovers: string[];
  ingestDlqDepth: number;
  results: InputResult[];
  leakHits: LeakHit[];
  problems: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const a = out.Attributes ?? {};
  return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
}

export function sqsClientFor(stack: Stack): SQSClient {
  return new SQSClient({
    region: stack.config.region,
    credentials: { ...stack.config.credentials },
    endpoint: stack.config.endpoints.sqs,
    maxAttempts: 3,
  });
}

function statsDelta(before: FaultStat[], after: FaultStat[]): FaultStat[] {
  const prior = new Map(before.map((s) => [`${s.service}:${s.operation}`, s]));
  return after
    .map((s) => {
      const p = prior.get(`${s.service}:${s.operation}`);
      return { ...s, calls: s.calls - (p?.calls ?? 0), injected: s.injected - (p?.injected ?? 0) };
    })
    .filter((s) => s.calls > 0);
}

/** Uploads the inputs, sends the duplicate deliveries, and waits until every input is notified and the queue is idle. */
async function driveWorkload(
  stack: Stack,
  sqs: SQSClient,
  inputs: ChaosInput[],
  options: ChaosOptions,
  log: (line: string) => void,
): Promise<{ runStart: number; notifications: Map<string, Notification[]> }> {
  const byKey = new Map(inputs.map((i) => [i.key, i]));
  const notifications = new Map<string, Notification[]>();
  const unsubscribe = stack.onNotification((n) => {
    const key = n.source?.key;
    if (!key || !byKey.has(key)) return;
    notifications.set(key, [...(notifications.get(key) ?? []), n]);
  });
  const runStart = Date.now();
  for (const input of inputs)
    await uploadFile(stack.s3, { bucket: stack.config.bucket, key: input.key, body: input.body });

  const deadline = runStart + options.timeoutMs;
  const duplicateSends =
    options.duplicates > 0
      ? Promise.all(
          inputs.map(async (input) => {
            const arn = await stack
              .waitForExecutionStart(input.key, Math.max(1, deadline - Date.now()), runStart)
              .catch(() => undefined);
            if (arn)
              await sendCopies(
                sqs,
                stack.config.queueUrl,
                s3EventFor(stack, arn, input.body.length),
                options.duplicates,
              );
          }),
        )
      : Promise.resolve([]);

  let lastReport = 0;
  while (Date.now() < deadline && inputs.some((i) => !notifications.has(i.key))) {
    await sleep(250);
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      log(
        `${notifications.size}/${inputs.length} notified after ${Math.round((Date.now() - runStart) / 1000)} s`,
      );
    }
  }
  await duplicateSends;
  // Late duplicates would show up now: let the ingest queue drain and every execution finish before counting.
  while (Date.now() < deadline + 30_000) {
    const running = inputs.some((i) =>
      stack.executionsFor(i.key).some((r) => r.startDate >= runStart && r.status === 'RUNNING'),
    );
    if (!running && (await queueDepth(sqs, stack.config.queueUrl).catch(() => 1)) === 0) break;
    await sleep(500);
  }
  await sleep(1500);
  unsubscribe();
  return { runStart, notifications };
}

/**
 * Multipart uploads left open, the ingest DLQ's depth, and this run's objects that belong to no successful asset or
 * are the plaintext source of a successful one.
 */
async function leftoversOf(
  stack: Stack,
  sqs: SQSClient,
  runId: string,
  notifications: Map<string, Notification[]>,
) {
  const openMultipartUploads = await stack.s3
    .send(new ListMultipartUploadsCommand({ Bucket: stack.config.bucket }))
    .then(
      (out) => (out.Uploads ?? []).filter((u) => u.Key?.includes(`chaos-${runId}/`)).length,
      () => -1,
    );
  const ingestDlqDepth = await queueDepth(sqs, stack.config.dlqUrl).catch(() => -1);
  const assetIds = [...notifications.values()].flatMap((list) =>
    list.flatMap((n) => (n.playback?.assetId ? [n.playback.assetId] : [])),
  );
  const leftovers = (
    await Promise.all(
      [`encrypted/chaos-${runId}/`, 'outputs/'].map((p) => listKeys(stack.s3, stack.config.bucket, p)),
    )
  )
    .flat()
    .filter((key) => key.includes(`chaos-${runId}/`))
    .filter((key) => !assetIds.some((id) => key.includes(`/${id}/`) || key.endsWith(`.${id}.enc`)));
  const succeeded = [...notifications].filter(([, list]) => list.every((n) => n.status === 'SUCCEEDED'));
  const prefix = `${stack.config.inputPrefix}chaos-${runId}/`;
  leftovers.push(
    ...(await sourcesLeft(stack.s3, stack.config.bucket, prefix, new Set(succeeded.map(([k]) => k)))),
  );
  return { openMultipartUploads, ingestDlqDepth, leftovers };
}

async function chaosInputs(options: ChaosOptions, dataDir: string, prefix: string): Promise<ChaosInput[]> {
  const clipFile = join(dataDir, 'samples', `chaos-clip-${options.clipSeconds}s.mp4`);
  mkdirSync(join(dataDir, 'samples'), { recursive: true });
  if (!existsSync(clipFile)) await generateClip(options.ffmpegPath, clipFile, options.clipSeconds);
  const clip = readFileSync(clipFile);
  return [...goodInputs(prefix, options.jobs, clip), ...(options.bad ? badInputs(prefix, clip) : [])];
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const runId = new Date(started)
    .toISOString()
    .replace(/[-:.TZ]/g, '')
    .slice(2, 14);
  const prefix = `incoming/chaos-${runId}/`;
  const dataDir = options.stack?.dataDir ?? options.dataDir;
  if (!dataDir) throw new Error('runChaos needs a stack or a dataDir');
  const inputs = await chaosInputs(options, dataDir, prefix);
  const backend = options.stack?.config.transcoderBackend ?? options.backend ?? 'mediaconvert';
  const faultSpec = options.faults ?? defaultFaultSpec(backend);
  const rules: FaultRule[] = FaultInjector.parse(faultSpec);

  let owned = false;
  let stack: Stack;
  if (options.stack) {
    stack = options.stack;
  } else {
    const { startStack } = await import('../../local/stack/index.js');
    stack = await startStack({
      dataDir,
      backend,
      fast: true,
      quiet: true,
      faults: new FaultInjector(),
      ffmpegPath: options.ffmpegPath,
    });
    owned = true;
  }
  // Faults start with the workload, not before: the stack's own provisioning (KMS alias, pipeline) is not under test.
  for (const rule of rules) stack.faults.add(rule);
  const sqs = sqsClientFor(stack);
  const kms = new KMSClient({
    region: stack.config.region,
    credentials: { ...stack.config.credentials },
    endpoint: stack.config.endpoints.kms,
    maxAttempts: 5,
  });
  // stats() hands out the live counters: copy them.
  const statsBefore = stack.faults.stats().map((s) => ({ ...s }));

  try {
    log(
      `uploading ${inputs.length} object(s) under s3://${stack.config.bucket}/${prefix} with faults ${faultSpec}`,
    );
    const { runStart, notifications } = await driveWorkload(stack, sqs, inputs, options, log);
    const faultStats = statsDelta(statsBefore, stack.faults.stats());
    // From here on the run reads back what the system wrote: no faults, and no leftovers for the caller's stack.
    stack.faults.clear();

    const assessed = await assessInputs(stack, kms, inputs, notifications, runStart, dataDir);
    const { results, retriesByError } = assessed;
    const retries = Object.values(retriesByError).reduce((a, b) => a + b, 0);
    const left = await leftoversOf(stack, sqs, runId, notifications);
    const scan = await scanForLeaks({
      stack,
      kms,
      dataDir,
      notifications,
      historyBlobs: assessed.historyBlobs,
      historyAssetIds: assessed.historyAssetIds,
      log,
      beforeTreeScan: async () => {
        if (!owned) return;
        await stack.stop();
        owned = false;
      },
    });

    const good = results.filter((r) => r.kind === 'good');
    const bad = results.filter((r) => r.kind === 'bad');
    const report: ChaosReport = {
      startedAt: new Date(started).toISOString(),
      wallSeconds: Math.round((Date.now() - started) / 100) / 10,
      dataDir,
      backend,
      faultSpec,
      jobs: good.length,
      badInputs: bad.length,
      duplicateDeliveriesPerObject: options.duplicates,
      faultsInjected: faultStats.reduce((a, s) => a + s.injected, 0),
      faultStats,
      retries,
      retriesByError,
      succeeded: results.filter((r) => r.status === 'SUCCEEDED').length,
      failedWithNotification: results.filter((r) => r.status === 'FAILED').length,
      lost: results.filter((r) => r.notifications === 0).length,
      duplicated: results.filter((r) => r.executions > 1 || r.notifications > 1 || r.transcodeJobs > 1)
        .length,
      leaks: scan.leakHits.length,
      verified: assessed.verified,
      keysRecovered: scan.keysRecovered,
      undecryptableBlobs: scan.undecryptableBlobs,
      scanned: scan.scanned,
      openMultipartUploads: left.openMultipartUploads,
      leftovers: left.leftovers,
      ingestDlqDepth: left.ingestDlqDepth,
      results,
      leakHits: scan.leakHits,
      problems: [],
    };
    report.problems = chaosProblems(report);
    return report;
  } finally {
    sqs.destroy();
    kms.destroy();
    if (owned) await stack.stop();
    else stack.faults.clear();
  }
}

/** Why a run fails; empty when it passes. */
export function chaosProblems(r: ChaosReport): string[] {
  const problems: string[] = [];
  if (r.lost > 0) problems.push(`${r.lost} upload(s) lost (no notification)`);
  if (r.duplicated > 0)
    problems.push(
      `${r.duplicated} object version(s) with more than one execution, transcode job or notification`,
    );
  if (r.leaks > 0) problems.push(`${r.leaks} plaintext key occurrence(s) found`);
  for (const x of r.results.filter((x) => !x.ok && x.notifications > 0)) {
    problems.push(
      x.kind === 'good'
        ? `expected success for ${x.key}: ${x.status}${x.errorCode ? ` ${x.errorCode} at ${x.step}: ${x.errorMessage}` : ''}${x.status === 'SUCCEEDED' ? ' (bytes or outputs not verified)' : ''}`
        : `${x.label} (${x.key}) ended ${x.status}${x.errorCode ? ` with ${x.errorCode} at ${x.step}: ${x.errorMessage}` : ''}, not the expected failure`,
    );
  }
  // The scan is only evidence if it had keys to look for: two per transcoded job at least (source and playback).
  if (r.keysRecovered < 2 * r.succeeded)
    problems.push(
      `only ${r.keysRecovered} plaintext key(s) recovered for ${r.succeeded} success(es): the leak scan is blind`,
    );
  if (r.undecryptableBlobs > 0)
    problems.push(`${r.undecryptableBlobs} wrapped key(s) could not be unwrapped for the scan`);
  if (r.openMultipartUploads !== 0) problems.push(`${r.openMultipartUploads} multipart upload(s) left open`);
  if (r.leftovers.length > 0)
    problems.push(`${r.leftovers.length} object(s) left behind, e.g. ${r.leftovers[0]}`);
  if (r.ingestDlqDepth !== 0) problems.push(`ingest DLQ holds ${r.ingestDlqDepth} message(s)`);
  return problems;
}
