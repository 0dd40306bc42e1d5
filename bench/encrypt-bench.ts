/**
 * `npm run bench` — encryption throughput against the local S3 gateway.
 *
 *   (a) plain ranged copy through the same read/write pipeline, no cipher — the I/O ceiling
 *   (b) the CBC encrypt step, cipher on the main thread   (b') the CBC step on one worker thread (`cbcWorker`)
 *   (c) the CTR encrypt step (cipher on the main thread, overlapping I/O)
 *   (c') the CTR step with parts encrypted concurrently on a worker_threads pool (opt-in `ctrWorkers`)
 *   (d) the tutorial's manual path: download to a file, `openssl enc`, upload
 *   (e) `openssl enc` file to file — the CPU ceiling
 *
 * Each S3 measurement runs in its own child process so its peak RSS (VmHWM) is its own. Flags (or env):
 *   --sizes-mib 256,1024 (BENCH_SIZES_MIB)  --quick (32 MiB)  --part-size-mib 8  --read-ahead 2  --concurrency 4
 *   --repeat 2 (BENCH_REPEAT): each step runs this many times, in interleaved rounds (every step once per round, so
 *   a burst of load from the neighbours hits all steps alike); the table's seconds are the fastest run (the slower
 *   runs measure the neighbours), the median is printed beside it and every run is in the JSON; peak RSS is the
 *   highest seen.
 *   --steps copy,cbc,cbc-worker,ctr,ctr-workers,manual,openssl (BENCH_STEPS): measure only these (to compare two
 *   designs head to head); ratios against (a) and (d) need those steps.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Checkpoint, EncryptionMode } from '../lib/contracts.js';
import { IdentityPartCipher } from '../lib/crypto/aes.js';
import { ctrWorkerCount } from '../lib/crypto/cipher-workers.js';
import { completeEncryptedUpload, encryptToMultipart } from '../lib/encrypt/engine.js';
import { runPartPipeline } from '../lib/encrypt/pipeline.js';
import { createMultipartUpload, MultipartWriter } from '../lib/s3/multipart.js';
import { S3RangedReader } from '../lib/s3/ranged-reader.js';
import { FileRangeSource } from '../local/cli/local-files.js';
import { startS3Gateway } from '../local/s3/index.js';
import { loadOrCreateCredentials } from '../local/stack/credentials.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BUCKET = 'bench';
const RESULT_MARK = 'BENCH_RESULT ';
/** Lambda's 15-minute ceiling minus the default TIME_BUDGET_MARGIN_MS. */
const LAMBDA_BUDGET_S = 900 - 30;
/** Per encrypt-loop iteration: the EncryptSource Task and the EncryptionDone Choice. */
const TRANSITIONS_PER_INVOCATION = 2;

const KINDS = ['copy', 'cbc', 'cbc-worker', 'ctr', 'ctr-workers', 'manual'] as const;
type Kind = (typeof KINDS)[number];

interface ChildJob {
  kind: Kind;
  endpoint: string;
  sourceKey: string;
  size: number;
  partSize: number;
  readAhead: number;
  concurrency: number;
  keyHex: string;
  ivHex: string;
  workDir: string;
}

interface ChildResult {
  seconds: number;
  peakRssBytes: number;
  baselineRssBytes: number;
}

/** The gateway checks signatures: parent and children sign with the credentials kept in the bench's work dir. */
function s3For(endpoint: string, workDir: string): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    credentials: loadOrCreateCredentials(workDir),
    forcePathStyle: true,
    maxAttempts: 3,
  });
}

async function procStatus(field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(await readFile('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

// ---- child: one measurement -----------------------------------------------------------------------------------------

/**
 * Streams a source through the same read/upload pipeline as the encrypt step with no cipher: row (a)'s ranged copy
 * and the upload leg of row (d) share it, so both measure exactly the engine's I/O path.
 */
async function plainUpload(
  s3: S3Client,
  source: Parameters<typeof runPartPipeline>[0]['source'],
  size: number,
  destKey: string,
  job: ChildJob,
): Promise<void> {
  const uploadId = await createMultipartUpload(s3, { bucket: BUCKET, key: destKey });
  await runPartPipeline({
    source,
    sink: new MultipartWriter(s3, { bucket: BUCKET, key: destKey, uploadId }, job.concurrency),
    cipher: new IdentityPartCipher(),
    partSize: job.partSize,
    firstPart: 1,
    chainBlock: Buffer.alloc(16),
    readAhead: job.readAhead,
    sinkConcurrency: job.concurrency,
    shouldYield: () => false,
  });
  await completeEncryptedUpload({ s3, bucket: BUCKET, key: destKey, uploadId, expectedSize: size });
}

async function copyOrEncrypt(job: ChildJob, s3: S3Client, destKey: string): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: job.sourceKey }));
  const source = { bucket: BUCKET, key: job.sourceKey, etag: head.ETag ?? '', size: job.size };
  if (job.kind === 'copy') {
    await plainUpload(s3, new S3RangedReader(s3, source), job.size, destKey, job);
    return;
  }
  const mode: EncryptionMode = job.kind === 'cbc' || job.kind === 'cbc-worker' ? 'aes-cbc-pkcs7' : 'aes-ctr';
  let checkpoint: Checkpoint | undefined;
  do {
    checkpoint = await encryptToMultipart({
      s3,
      source,
      destination: { bucket: BUCKET, key: destKey, metadata: { 'st-mode': mode } },
      key: Buffer.from(job.keyHex, 'hex'),
      iv: Buffer.from(job.ivHex, 'hex'),
      mode,
      checkpoint,
      partSizeBytes: job.partSize,
      readAhead: job.readAhead,
      uploadConcurrency: job.concurrency,
      shouldYield: () => false,
      ...(job.kind === 'ctr-workers' ? { ctrWorkers: ctrWorkerCount(job.concurrency) } : {}),
      cbcWorker: job.kind === 'cbc-worker',
    });
  } while (!checkpoint.done);
  await completeEncryptedUpload({ s3, bucket: BUCKET, key: destKey, uploadId: checkpoint.uploadId });
}

/** The tutorial's path, done as well as a script can: stream download, `openssl enc`, multipart upload. */
async function manualPath(job: ChildJob, s3: S3Client, destKey: string): Promise<void> {
  const plain = join(job.workDir, 'manual.plain');
  const enc = join(job.workDir, 'manual.enc');
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: job.sourceKey }));
  await pipeline(got.Body as Readable, createWriteStream(plain));
  const r = spawnSync('openssl', [
    'enc',
    '-nosalt',
    '-aes-128-cbc',
    '-K',
    job.keyHex,
    '-iv',
    job.ivHex,
    '-in',
    plain,
    '-out',
    enc,
  ]);
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  const size = (await stat(enc)).size;
  const fh = await open(enc, 'r');
  try {
    await plainUpload(s3, new FileRangeSource(fh, size), size, destKey, job);
  } finally {
    await fh.close();
    await rm(plain, { force: true });
    await rm(enc, { force: true });
  }
}

async function runChild(job: ChildJob): Promise<void> {
  const s3 = s3For(job.endpoint, job.workDir);
  const destKey = `out/${job.kind}-${job.size}`;
  const baselineRssBytes = await procStatus('VmRSS');
  const started = process.hrtime.bigint();
  if (job.kind === 'manual') await manualPath(job, s3, destKey);
  else await copyOrEncrypt(job, s3, destKey);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const result: ChildResult = { seconds, peakRssBytes: await procStatus('VmHWM'), baselineRssBytes };
  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: destKey }));
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

// ---- parent: sources, children, report -----------------------------------------------------------------------------

async function measureChild(job: ChildJob): Promise<ChildResult> {
  const child = spawn(
    process.execPath,
    ['bin/run-ts.js', 'bench/encrypt-bench.ts', '--child', JSON.stringify(job)],
    {
      env: { ...process.env, LOG_LEVEL: 'WARN', NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const line = out.split('\n').find((l) => l.startsWith(RESULT_MARK));
  if (code !== 0 || !line) throw new Error(`bench child ${job.kind} failed (exit ${code})`);
  return JSON.parse(line.slice(RESULT_MARK.length)) as ChildResult;
}

/** Random source bytes, uploaded part by part so the generator never holds the object in memory. */
async function uploadRandomSource(s3: S3Client, key: string, size: number, partSize: number): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
  const buffer = Buffer.allocUnsafe(partSize);
  const parts = [];
  for (let offset = 0, n = 1; offset < size; offset += partSize, n += 1) {
    const body = buffer.subarray(0, Math.min(partSize, size - offset));
    randomFillSync(body);
    const out = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: n, Body: body }),
    );
    parts.push({ PartNumber: n, ETag: out.ETag });
  }
  await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

function opensslFileToFile(
  cipher: string,
  keyHex: string,
  ivHex: string,
  input: string,
  output: string,
): number {
  const started = process.hrtime.bigint();
  const r = spawnSync('openssl', [
    'enc',
    '-nosalt',
    `-${cipher}`,
    '-K',
    keyHex,
    '-iv',
    ivHex,
    '-in',
    input,
    '-out',
    output,
  ]);
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

interface Row {
  sizeMiB: number;
  step: string;
  seconds: number;
  medianSeconds?: number;
  runsSeconds?: number[];
  mbPerSecond: number;
  vsCopy: number;
  vsManual: number;
  peakRssMiB?: number;
  baselineRssMiB?: number;
  lambdaInvocationsPerGiB?: number;
  stateTransitionsPerGiB?: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? Number.NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

async function runParent(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      'sizes-mib': { type: 'string', default: process.env.BENCH_SIZES_MIB ?? '256,1024' },
      'part-size-mib': { type: 'string', default: process.env.BENCH_PART_SIZE_MIB ?? '8' },
      'read-ahead': { type: 'string', default: process.env.BENCH_READ_AHEAD ?? '2' },
      concurrency: { type: 'string', default: process.env.BENCH_CONCURRENCY ?? '4' },
      repeat: { type: 'string', default: process.env.BENCH_REPEAT ?? '2' },
      steps: { type: 'string', default: process.env.BENCH_STEPS ?? [...KINDS, 'openssl'].join(',') },
    },
  });
  const steps = new Set(values.steps.split(',').map((s) => s.trim()));
  const kinds = KINDS.filter((k) => steps.has(k));
  const sizesMiB = values.quick ? [32] : values['sizes-mib'].split(',').map((s) => Number(s.trim()));
  const partSize = Number(values['part-size-mib']) * MiB;
  const readAhead = Number(values['read-ahead']);
  const concurrency = Number(values.concurrency);
  const repeat = Math.max(1, values.quick ? 1 : Number(values.repeat));
  const keyHex = randomBytes(16).toString('hex');
  const ivHex = randomBytes(16).toString('hex');
  const workDir = await mkdtemp(join(tmpdir(), 'st-bench-'));
  const gateway = await startS3Gateway({
    buckets: [BUCKET],
    auth: { credentials: loadOrCreateCredentials(workDir), region: 'us-east-1' },
  });
  const s3 = s3For(gateway.endpoint, workDir);
  const rows: Row[] = [];
  try {
    for (const sizeMiB of sizesMiB) {
      const size = sizeMiB * MiB;
      const sourceKey = `incoming/bench-${sizeMiB}.bin`;
      process.stderr.write(`generating ${sizeMiB} MiB source…\n`);
      await uploadRandomSource(s3, sourceKey, size, partSize);
      const job = {
        endpoint: gateway.endpoint,
        sourceKey,
        size,
        partSize,
        readAhead,
        concurrency,
        keyHex,
        ivHex,
        workDir,
      };
      const measured = new Map<string, ChildResult>();
      const runs = new Map<string, number[]>();
      for (let round = 1; round <= repeat; round += 1) {
        for (const kind of kinds) {
          process.stderr.write(`  ${kind} (round ${round}/${repeat})…`);
          const run = await measureChild({ ...job, kind });
          process.stderr.write(` ${run.seconds.toFixed(3)} s\n`);
          runs.set(kind, [...(runs.get(kind) ?? []), +run.seconds.toFixed(3)]);
          const best = measured.get(kind);
          const peakRssBytes = Math.max(run.peakRssBytes, best?.peakRssBytes ?? 0);
          measured.set(
            kind,
            best && best.seconds <= run.seconds ? { ...best, peakRssBytes } : { ...run, peakRssBytes },
          );
        }
      }
      let eCbc = Number.NaN;
      let eCtr = Number.NaN;
      if (steps.has('openssl')) {
        const plain = join(workDir, 'source.bin');
        const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: sourceKey }));
        await pipeline(got.Body as Readable, createWriteStream(plain));
        const fastest = (cipher: string) =>
          Math.min(
            ...Array.from({ length: repeat }, () =>
              opensslFileToFile(cipher, keyHex, ivHex, plain, join(workDir, 'e.enc')),
            ),
          );
        eCbc = fastest('aes-128-cbc');
        eCtr = fastest('aes-128-ctr');
        await rm(plain, { force: true });
      }
      await rm(join(workDir, 'e.enc'), { force: true });
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: sourceKey }));

      const copyS = measured.get('copy')?.seconds ?? Number.NaN;
      const manualS = measured.get('manual')?.seconds ?? Number.NaN;
      const row = (step: string, seconds: number, child?: ChildResult, lambda = false, kind?: Kind): Row => {
        const rate = size / seconds;
        const invocations = Math.ceil(GiB / rate / LAMBDA_BUDGET_S);
        const all = kind ? runs.get(kind) : undefined;
        return {
          sizeMiB,
          step,
          seconds: +seconds.toFixed(3),
          ...(all ? { medianSeconds: median(all), runsSeconds: all } : {}),
          mbPerSecond: +(rate / 1e6).toFixed(1),
          vsCopy: +(copyS / seconds).toFixed(2),
          vsManual: +(manualS / seconds).toFixed(2),
          ...(child
            ? {
                peakRssMiB: +(child.peakRssBytes / MiB).toFixed(1),
                baselineRssMiB: +(child.baselineRssBytes / MiB).toFixed(1),
              }
            : {}),
          ...(lambda
            ? {
                lambdaInvocationsPerGiB: invocations,
                stateTransitionsPerGiB: invocations * TRANSITIONS_PER_INVOCATION,
              }
            : {}),
        };
      };
      const measuredRow = (kind: Kind, step: string, lambda: boolean) =>
        row(step, measured.get(kind)?.seconds ?? Number.NaN, measured.get(kind), lambda, kind);
      const all: Array<[Kind | 'openssl', Row]> = [
        ['copy', measuredRow('copy', '(a) ranged copy, no cipher', true)],
        ['cbc', measuredRow('cbc', '(b) CBC encrypt step, cipher on the main thread', true)],
        ['cbc-worker', measuredRow('cbc-worker', "(b') CBC, chain on one worker thread", true)],
        ['ctr', measuredRow('ctr', '(c) CTR encrypt step', true)],
        ['ctr-workers', measuredRow('ctr-workers', "(c') CTR, parts on a worker pool", false)],
        ['manual', measuredRow('manual', '(d) manual: download, openssl, upload', false)],
        ['openssl', row('(e) openssl enc file→file (CBC)', eCbc)],
        ['openssl', row('(e) openssl enc file→file (CTR)', eCtr)],
      ];
      rows.push(...all.filter(([kind]) => steps.has(kind)).map(([, r]) => r));
    }
  } finally {
    await gateway.stop();
    await rm(workDir, { recursive: true, force: true });
  }

  console.table(
    rows.map((r) => ({
      'size MiB': r.sizeMiB,
      step: r.step,
      s: r.seconds,
      'median s': r.medianSeconds ?? '',
      'MB/s': r.mbPerSecond,
      '×(a)': r.vsCopy,
      '×(d)': r.vsManual,
      'peak RSS MiB': r.peakRssMiB ?? '',
      'Lambda inv./GiB': r.lambdaInvocationsPerGiB ?? '',
      'transitions/GiB': r.stateTransitionsPerGiB ?? '',
    })),
  );
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    node: process.version,
    platform: process.platform,
  };
  const settings = {
    partSizeMiB: partSize / MiB,
    readAhead,
    concurrency,
    repeat,
    steps: [...steps],
    lambdaBudgetSeconds: LAMBDA_BUDGET_S,
  };
  const file = join('bench', 'results', `encrypt-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine, settings, rows }, null, 2)}\n`,
  );
  console.log(`results written to ${file}`);
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) await runChild(JSON.parse(process.argv[childIndex + 1] ?? '{}') as ChildJob);
else await runParent();
