/**
 * `npm run bench` — encryption throughput against the local S3 gateway.
 *
 *   (a) plain ranged copy through the same read/write pipeline, no cipher — the I/O ceiling
 *   (b) the CBC encrypt step, cipher on the main thread
 *   (c) the CTR encrypt step (cipher on the main thread, overlapping I/O)
 *   (d) the tutorial's manual path: download to a file, `openssl enc`, upload
 *   (e) `openssl enc` file to file — the CPU ceiling
 *
 * Each S3 measurement runs in its own child process so its peak RSS (VmHWM) is its own. Flags (or env):
 *   --sizes-mib 256,1024 (BENCH_SIZES_MIB)  --quick (32 MiB)  --part-size-mib 8  --read-ahead 2  --concurrency 4
 *   --repeat 2 (BENCH_REPEAT): each step runs this many times, in interleaved rounds (every step once per round, so
 *   a burst of load from the neighbours hits all steps alike); the table's seconds are the fastest run (the slower
 *   runs measure the neighbours), the median is printed beside it and every run is in the JSON; peak RSS is the
 *   highest seen.
 *   --steps copy,cbc,ctr,manual,openssl (BENCH_STEPS): measure only these (to compare two
 *   designs head to head); ratios against (a) and (d) need those steps.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomFillSync } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
import { completeEncryptedUpload, encryptToMultipart } from '../lib/encrypt/engine.js';
import { runPartPipeline } from '../lib/encrypt/pipeline.js';
import { createMultipartUpload, MultipartWriter } from '../lib/s3/multipart.js';
import { S3RangedReader } from '../lib/s3/ranged-reader.js';
import { FileRangeSource } from '../local/cli/local-files.js';
import { startS3Gateway } from '../local/s3/index.js';
import { loadOrCreateCredentials } from '../local/stack/credentials.js';
import {
  type ChildResult,
  KINDS,
  type Kind,
  type Measurements,
  type Row,
  report,
  rowsFor,
  type Settings,
} from './encrypt/report.js';

const MiB = 1024 * 1024;
const BUCKET = 'bench';
const RESULT_MARK = 'BENCH_RESULT ';
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
  const mode: EncryptionMode = job.kind === 'cbc' ? 'aes-cbc-pkcs7' : 'aes-ctr';
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

function parseSettings(): Settings {
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
  return {
    steps,
    kinds: KINDS.filter((k) => steps.has(k)),
    sizesMiB: values.quick ? [32] : values['sizes-mib'].split(',').map((s) => Number(s.trim())),
    partSize: Number(values['part-size-mib']) * MiB,
    readAhead: Number(values['read-ahead']),
    concurrency: Number(values.concurrency),
    repeat: Math.max(1, values.quick ? 1 : Number(values.repeat)),
    keyHex: randomBytes(16).toString('hex'),
    ivHex: randomBytes(16).toString('hex'),
  };
}

/** Every step once per round, so a burst of load from the neighbours hits all steps alike. */
async function measureRounds(
  job: Omit<ChildJob, 'kind'>,
  kinds: readonly Kind[],
  repeat: number,
): Promise<Measurements> {
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
  return { measured, runs };
}

/** Row (e): the fastest of `repeat` runs of `openssl enc` file to file, for CBC and for CTR. */
async function measureOpenssl(
  s3: S3Client,
  sourceKey: string,
  workDir: string,
  settings: Settings,
): Promise<{ eCbc: number; eCtr: number }> {
  const plain = join(workDir, 'source.bin');
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: sourceKey }));
  await pipeline(got.Body as Readable, createWriteStream(plain));
  const fastest = (cipher: string) =>
    Math.min(
      ...Array.from({ length: settings.repeat }, () =>
        opensslFileToFile(cipher, settings.keyHex, settings.ivHex, plain, join(workDir, 'e.enc')),
      ),
    );
  const eCbc = fastest('aes-128-cbc');
  const eCtr = fastest('aes-128-ctr');
  await rm(plain, { force: true });
  return { eCbc, eCtr };
}

async function runParent(): Promise<void> {
  const settings = parseSettings();
  const workDir = await mkdtemp(join(tmpdir(), 'st-bench-'));
  const gateway = await startS3Gateway({
    buckets: [BUCKET],
    auth: { credentials: loadOrCreateCredentials(workDir), region: 'us-east-1' },
  });
  const s3 = s3For(gateway.endpoint, workDir);
  const rows: Row[] = [];
  try {
    for (const sizeMiB of settings.sizesMiB) {
      const size = sizeMiB * MiB;
      const sourceKey = `incoming/bench-${sizeMiB}.bin`;
      process.stderr.write(`generating ${sizeMiB} MiB source…\n`);
      await uploadRandomSource(s3, sourceKey, size, settings.partSize);
      const job = {
        endpoint: gateway.endpoint,
        sourceKey,
        size,
        partSize: settings.partSize,
        readAhead: settings.readAhead,
        concurrency: settings.concurrency,
        keyHex: settings.keyHex,
        ivHex: settings.ivHex,
        workDir,
      };
      const measurements = await measureRounds(job, settings.kinds, settings.repeat);
      const openssl = settings.steps.has('openssl')
        ? await measureOpenssl(s3, sourceKey, workDir, settings)
        : { eCbc: Number.NaN, eCtr: Number.NaN };
      await rm(join(workDir, 'e.enc'), { force: true });
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: sourceKey }));
      rows.push(...rowsFor(sizeMiB, measurements, openssl, settings.steps));
    }
  } finally {
    await gateway.stop();
    await rm(workDir, { recursive: true, force: true });
  }
  await report(rows, settings);
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) await runChild(JSON.parse(process.argv[childIndex + 1] ?? '{}') as ChildJob);
else await runParent();
