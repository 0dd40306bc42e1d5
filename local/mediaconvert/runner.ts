/**
 * Job execution: SUBMITTED → PROGRESSING (PROBING, TRANSCODING, UPLOADING) → COMPLETE | ERROR | CANCELED, a few
 * jobs at a time, each in its own 0700 directory under the data directory's workspace, removed afterwards (and swept
 * at start). The input key is unwrapped with KMS under MediaConvert's encryption context; the HLS key comes from the
 * SPEKE server and lives in memory and, while ffmpeg needs it, in a 0600 file in the job's directory. Neither ever
 * reaches the job record or an event. The whole ladder is one run of the shared engine (one decode).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { sdkErrorInfo } from '../../lib/errors.js';
import { MEDIACONVERT_CONTEXT } from '../../lib/kms/contexts.js';
import { logger } from '../../lib/logger.js';
import { JobFailure } from '../transcoder/errors.js';
import { type MediaInfo, parseInput, runFfmpeg } from '../transcoder/ffmpeg.js';
import { masterPlaylist, type Variant } from '../transcoder/hls.js';
import { decryptFile } from '../transcoder/keys.js';
import { renditionFromPreset } from '../transcoder/presets.js';
import { downloadInput, uploadFile } from '../transcoder/s3io.js';
import type { JobProgress } from '../transcoder/server.js';
import {
  type RenditionPlan as EnginePlan,
  type RenditionResult,
  transcodeLadder,
} from '../transcoder/transcode.js';
import { presetFor, renameSegments } from './engine.js';
import { JOB_ERRORS, JobError } from './errors.js';
import type { SpekeClient, SpekeKey } from './speke-client.js';
import type { JobStore } from './store.js';
import type { JobPlan, JobStatus, WireJob } from './wire.js';

export interface RunnerDeps {
  store: JobStore;
  plans: Map<string, JobPlan>;
  s3: S3Client;
  kms: KMSClient;
  events: EventBridgeClient;
  speke: SpekeClient;
  ffmpeg: string;
  /** Parent of each job's private directory (local/transcoder/workspace.ts). */
  workDir: string;
  concurrency: number;
  accountId: string;
  region: string;
  /** Progress of running jobs: `percent` is the job's `jobPercentComplete`, with the ladder's per-rendition percent. */
  onProgress?: (progress: JobProgress) => void;
}

const seconds = () => Math.floor(Date.now() / 1000);

/**
 * Engine failures (the shared engine speaks Elastic Transcoder's codes) in MediaConvert's codes and words: a
 * MediaConvert job's errorMessage must not talk about another service.
 */
function fromEngine(e: JobFailure): JobError {
  const said = (text: string) => (e.detail ? `${text} ${e.detail}` : text);
  if (e.code === 3001)
    return new JobError(JOB_ERRORS.inputNotFound, said('Unable to open input file: not found.'));
  if (e.code === 3003)
    return new JobError(JOB_ERRORS.permission, said('Access denied: the input file could not be read.'));
  if (e.code === 4000 || e.code === 4016 || e.code === 4017)
    return new JobError(
      JOB_ERRORS.badInput,
      said('Unable to open input file: not media that can be read with the given decryption settings.'),
    );
  return new JobError(JOB_ERRORS.unknown, said('An internal error occurred.'));
}

export class JobRunner {
  private readonly queue: string[] = [];
  private readonly running = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private stopping = false;

  constructor(private readonly deps: RunnerDeps) {}

  enqueue(jobId: string): void {
    this.queue.push(jobId);
    this.pump();
  }

  /** Cancels a queued or running job; false when it is neither. */
  cancel(jobId: string): boolean {
    const i = this.queue.indexOf(jobId);
    if (i >= 0) {
      this.queue.splice(i, 1);
      return true;
    }
    const run = this.running.get(jobId);
    run?.abort.abort();
    return run !== undefined;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    for (const r of this.running.values()) r.abort.abort();
    await Promise.allSettled([...this.running.values()].map((r) => r.promise));
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.deps.concurrency && this.queue.length > 0) {
      const jobId = this.queue.shift() as string;
      const abort = new AbortController();
      const promise = this.execute(jobId, abort.signal)
        .catch((e: unknown) => {
          logger.error('local MediaConvert job crashed', {
            jobId,
            error: e instanceof Error ? e.message : String(e),
          });
        })
        .finally(() => {
          this.running.delete(jobId);
          this.pump();
        });
      this.running.set(jobId, { promise, abort });
    }
  }

  /** "MediaConvert Job State Change", as the service sends to EventBridge (none for SUBMITTED). */
  async emit(job: WireJob, extra: Record<string, unknown> = {}): Promise<void> {
    const detail = {
      timestamp: Date.now(),
      accountId: this.deps.accountId,
      queue: job.queue,
      jobId: job.id,
      status: job.status,
      userMetadata: job.userMetadata ?? {},
      ...(job.errorCode !== undefined ? { errorCode: job.errorCode, errorMessage: job.errorMessage } : {}),
      ...extra,
    };
    await this.deps.events
      .send(
        new PutEventsCommand({
          Entries: [
            {
              Source: 'aws.mediaconvert',
              DetailType: 'MediaConvert Job State Change',
              Resources: [job.arn],
              Detail: JSON.stringify(detail),
            },
          ],
        }),
      )
      .catch((e: unknown) => {
        logger.warn('local MediaConvert could not publish an event', { jobId: job.id, error: String(e) });
      });
  }

  private async finish(job: WireJob, status: JobStatus, extra: Record<string, unknown> = {}): Promise<void> {
    job.status = status;
    delete job.currentPhase;
    job.timing.finishTime = seconds();
    await this.deps.store.save(job);
    await this.emit(job, extra);
  }

  private async execute(jobId: string, signal: AbortSignal): Promise<void> {
    const job = this.deps.store.jobs.get(jobId);
    const plan = this.deps.plans.get(jobId);
    if (job?.status !== 'SUBMITTED' || !plan) return;
    job.status = 'PROGRESSING';
    job.currentPhase = 'PROBING';
    job.jobPercentComplete = 0;
    job.timing.startTime = seconds();
    await this.deps.store.save(job);
    await this.emit(job);

    const work = await mkdtemp(join(this.deps.workDir, 'job-'));
    try {
      const outputs = await this.process(job, plan, work, signal);
      if (signal.aborted) throw signal.reason;
      job.jobPercentComplete = 100;
      job.outputGroupDetails = [
        {
          outputDetails: outputs.map((o) => ({
            durationInMs: o.durationMillis,
            ...(o.width && o.height ? { videoDetails: { widthInPx: o.width, heightInPx: o.height } } : {}),
          })),
        },
      ];
      const s3 = (key: string) => `s3://${plan.destination.bucket}/${key}`;
      await this.finish(job, 'COMPLETE', {
        outputGroupDetails: [
          {
            type: 'HLS_GROUP',
            playlistFilePaths: [s3(`${plan.destination.base}.m3u8`)],
            outputDetails: outputs.map((o) => ({
              outputFilePaths: [s3(o.playlistKey)],
              durationInMs: o.durationMillis,
              ...(o.width && o.height ? { videoDetails: { widthInPx: o.width, heightInPx: o.height } } : {}),
            })),
          },
        ],
      });
      logger.info('local MediaConvert job complete', { jobId });
    } catch (e) {
      if (this.stopping) return;
      if (signal.aborted) {
        await this.finish(job, 'CANCELED');
        return;
      }
      const failure =
        e instanceof JobError
          ? e
          : e instanceof JobFailure
            ? fromEngine(e)
            : new JobError(JOB_ERRORS.unknown, e instanceof Error ? e.message : String(e));
      job.errorCode = failure.code;
      job.errorMessage = failure.message;
      logger.info('local MediaConvert job failed', { jobId, errorCode: failure.code });
      await this.finish(job, 'ERROR');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async unwrapInputKey(encryptedKey: string): Promise<Buffer> {
    const out = await this.deps.kms
      .send(
        new DecryptCommand({
          CiphertextBlob: Buffer.from(encryptedKey, 'base64'),
          EncryptionContext: { ...MEDIACONVERT_CONTEXT },
        }),
      )
      .catch((e: unknown) => {
        const { name, status } = sdkErrorInfo(e);
        if (status !== undefined && status < 500) {
          throw new JobError(JOB_ERRORS.permission, `Unable to decrypt the input key with KMS (${name})`);
        }
        throw new JobError(JOB_ERRORS.unknown, `KMS is unavailable (${name})`);
      });
    const key = Buffer.from(out.Plaintext ?? []);
    out.Plaintext?.fill(0);
    if (![16, 24, 32].includes(key.length)) {
      key.fill(0);
      throw new JobError(JOB_ERRORS.badInput, 'The decrypted input key is not 128, 192 or 256 bits');
    }
    return key;
  }

  private async process(job: WireJob, plan: JobPlan, work: string, signal: AbortSignal) {
    let spekeKey: SpekeKey | undefined;
    try {
      const input = await this.prepareInput(plan, work, signal);
      if (plan.speke) spekeKey = await this.deps.speke.keyFor(plan.speke.url, plan.speke.resourceId, signal);
      job.currentPhase = 'TRANSCODING';
      await this.deps.store.save(job);
      const results = await this.transcode(job, plan, work, input, spekeKey, signal);
      job.jobPercentComplete = 90;
      job.currentPhase = 'UPLOADING';
      await this.deps.store.save(job);
      await this.uploadOutputs(plan, work, results, signal);
      return results;
    } finally {
      spekeKey?.key.fill(0);
    }
  }

  /** Downloads the input, decrypts it when the job says how, and probes it; refuses what the job cannot use. */
  private async prepareInput(
    plan: JobPlan,
    work: string,
    signal: AbortSignal,
  ): Promise<{ file: string; info: MediaInfo }> {
    const source = join(work, 'input.src');
    await downloadInput(this.deps.s3, plan.input.bucket, plan.input.key, source, signal);
    let file = source;
    if (plan.input.decryption) {
      const key = await this.unwrapInputKey(plan.input.decryption.encryptedKey);
      try {
        file = join(work, 'input.dec');
        const iv = Buffer.from(plan.input.decryption.iv, 'base64');
        await decryptFile(source, file, plan.input.decryption.mode, key, iv);
      } finally {
        key.fill(0);
      }
      await rm(source);
    }
    const info: MediaInfo | undefined = parseInput(
      (await runFfmpeg(this.deps.ffmpeg, ['-i', file], signal)).stderr,
    );
    if (!info)
      throw new JobError(
        JOB_ERRORS.badInput,
        `Unable to open input file [s3://${plan.input.bucket}/${plan.input.key}]`,
      );
    const withAudio = plan.renditions.find((r) => r.audio);
    if (withAudio && !info.hasAudio) {
      throw new JobError(JOB_ERRORS.noAudio, `No audio found in the input for ${withAudio.audio?.selector}`);
    }
    return { file, info };
  }

  /** Runs the whole ladder in one engine run and names each rendition's files as MediaConvert does. */
  private async transcode(
    job: WireJob,
    plan: JobPlan,
    work: string,
    input: { file: string; info: MediaInfo },
    spekeKey: SpekeKey | undefined,
    signal: AbortSignal,
  ): Promise<RenditionOutput[]> {
    const base = posix.basename(plan.destination.base);
    const constantIv = plan.speke?.constantIv ? Buffer.from(plan.speke.constantIv, 'hex') : undefined;
    const names = plan.renditions.map((r) => `${base}${r.nameModifier}`);
    const presets = plan.renditions.map((r) => presetFor(r));
    const engine: EnginePlan[] = [];
    for (const [index, name] of names.entries()) {
      const dir = join(work, `output-${index}`);
      await mkdir(dir, { mode: 0o700 });
      engine.push({
        settings: renditionFromPreset(presets[index] as (typeof presets)[number]),
        dir,
        base: name,
        segmentDuration: plan.segmentLength,
        ...(spekeKey
          ? {
              encryption: { key: spekeKey.key, ...(constantIv ? { iv: constantIv } : {}), uri: spekeKey.uri },
            }
          : {}),
      });
    }
    const ladder = await transcodeLadder(
      this.deps.ffmpeg,
      { inputFile: input.file, input: input.info, renditions: engine },
      {
        signal,
        tempDir: work,
        // GetJob reads the job from memory: the percentage is visible at once, and saved with the next phase.
        onProgress: (progress) => {
          job.jobPercentComplete = Math.min(90, Math.round(progress.percent * 0.9));
          this.deps.onProgress?.({
            ...progress,
            percent: job.jobPercentComplete,
            jobId: job.id,
            userMetadata: { ...(job.userMetadata ?? {}) },
            outputKeys: names.map((name) => destinationKey(plan, `${name}.m3u8`)),
          });
        },
      },
    );
    const results: RenditionOutput[] = [];
    for (const [index, name] of names.entries()) {
      const result = ladder[index] as RenditionResult;
      const dir = (engine[index] as EnginePlan).dir;
      const files = await renameSegments(dir, name, result.files, {
        include: plan.speke?.ivInManifest ?? false,
        ...(plan.speke?.constantIv ? { constant: plan.speke.constantIv } : {}),
      });
      results.push({
        dir,
        files,
        variant: {
          key: name,
          preset: presets[index] as (typeof presets)[number],
          ...(result.width !== undefined ? { width: result.width } : {}),
          ...(result.height !== undefined ? { height: result.height } : {}),
          ...(result.codecs ? { codecs: result.codecs } : {}),
          bandwidth: result.bandwidth ?? 0,
        },
        playlistKey: destinationKey(plan, `${name}.m3u8`),
        durationMillis: result.durationMillis,
        ...(result.width !== undefined ? { width: result.width } : {}),
        ...(result.height !== undefined ? { height: result.height } : {}),
      });
    }
    return results;
  }

  private async uploadOutputs(
    plan: JobPlan,
    work: string,
    results: RenditionOutput[],
    signal: AbortSignal,
  ): Promise<void> {
    const upload = (key: string, path: string) =>
      uploadFile(
        this.deps.s3,
        plan.destination.bucket,
        key,
        path,
        signal,
        plan.destination.serverSideEncryption,
      ).catch((e: unknown) => {
        if (signal.aborted) throw e;
        throw new JobError(
          JOB_ERRORS.permission,
          `Unable to write to output [s3://${plan.destination.bucket}/${key}]`,
        );
      });
    // Segments first, then variant playlists, then the master: a reader who finds a playlist finds what it names.
    for (const r of results) {
      for (const f of r.files.filter((f) => !f.endsWith('.m3u8')))
        await upload(destinationKey(plan, f), join(r.dir, f));
    }
    for (const r of results) await upload(r.playlistKey, join(r.dir, `${r.variant.key}.m3u8`));
    const master = join(work, 'master.m3u8');
    await writeFile(
      master,
      masterPlaylist(
        posix.basename(plan.destination.base),
        results.map((r) => r.variant),
      ),
    );
    await upload(`${plan.destination.base}.m3u8`, master);
  }
}

/** One rendition's files on disk, its master-playlist entry and where its playlist goes. */
interface RenditionOutput {
  dir: string;
  files: string[];
  variant: Variant;
  playlistKey: string;
  durationMillis: number;
  width?: number;
  height?: number;
}

/** A file's key beside the destination's base name (in the same folder). */
function destinationKey(plan: JobPlan, name: string): string {
  const folder = posix.dirname(plan.destination.base);
  return folder === '.' ? name : `${folder}/${name}`;
}
