/**
 * Job execution: Submitted → Progressing → Complete | Error, a few jobs at a time. Each job works in its own 0700
 * temp directory (decrypted input, ffmpeg output) that is removed afterwards; HLS keys go to a separate 0600 file
 * only for the duration of the ffmpeg run. Plaintext keys are zeroed once used and never reach the job record.
 *
 * On stop, running ffmpeg processes are killed and their jobs stay `Progressing` on disk; the next start re-runs
 * them from the beginning (outputs are overwritten, so a re-run is idempotent).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Job, JobOutput, Pipeline } from '@aws-sdk/client-elastic-transcoder';
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import { ELASTIC_TRANSCODER_CONTEXT } from '../../lib/kms/contexts.js';
import { logger } from '../../lib/logger.js';
import {
  type DecryptionMode,
  EngineError,
  JobQueue,
  type LadderProgress,
  masterPlaylist,
  type PreparedInput,
  prepareInput,
  type RenditionPlan,
  type RenditionResult,
  type RenditionSettings,
  relativeUri,
  transcodeLadder,
  uploadFile,
  type Variant,
} from '../engine/index.js';
import { fromEngine, JobFailure } from './errors.js';
import { keyMd5, unwrapKey } from './keys.js';
import { type NotificationError, type NotificationState, publishNotification } from './notify.js';
import type { TranscoderStore } from './store.js';

export interface RunnerDeps {
  store: TranscoderStore;
  /** Each preset's engine settings, translated once when the server starts (presets.ts). */
  settings: ReadonlyMap<string, RenditionSettings>;
  s3: S3Client;
  kms: KMSClient;
  sns: SNSClient;
  ffmpeg: string;
  concurrency: number;
  /** Sees each running job's progress (ffmpeg's own, a few times a second). */
  onProgress?: (jobId: string, progress: LadderProgress) => void;
  /** Parent of each job's private directory (local/engine/workspace.ts). */
  workDir: string;
}

interface Protection {
  key: Buffer;
  ivHex: string;
  /** EXT-X-KEY URI as written into the variant playlist of `variantKey`. */
  uriFor(variantKey: string): string;
  /** Set with KeyStoragePolicy WithVariantPlaylists: where the key itself is written, relative to the prefix. */
  keyObject?: string;
}

const CLIENT_SIDE = new Set(['aes-cbc-pkcs7', 'aes-ctr', 'aes-gcm']);

function seconds(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const parts = value.split(':').map(Number);
  return parts.reduce((total, part) => total * 60 + part, 0) || undefined;
}

function errorCodeOf(detail: string | undefined): number {
  return Number.parseInt(detail ?? '', 10) || 9000;
}

export class JobRunner {
  private readonly queue: JobQueue;

  constructor(private readonly deps: RunnerDeps) {
    this.queue = new JobQueue({
      concurrency: deps.concurrency,
      service: 'local Elastic Transcoder',
      run: (jobId, signal) => this.execute(jobId, signal),
    });
  }

  enqueue(jobId: string): void {
    this.queue.enqueue(jobId);
  }

  /** Takes a job that has not started off the queue. */
  dequeue(jobId: string): void {
    this.queue.cancel(jobId);
  }

  stop(): Promise<void> {
    return this.queue.stop();
  }

  private save(job: Job): Promise<void> {
    return this.deps.store.saveJob(job as Job & { Id: string });
  }

  private notify(pipeline: Pipeline, job: Job, state: NotificationState, failure?: NotificationError) {
    return publishNotification(this.deps.sns, pipeline, job, state, failure);
  }

  private async execute(jobId: string, signal: AbortSignal): Promise<void> {
    const job = this.deps.store.jobs.get(jobId);
    if (job?.Status !== 'Submitted') return;
    const pipeline = this.deps.store.pipelines.get(job.PipelineId ?? '');
    if (!pipeline) throw new Error(`pipeline ${job.PipelineId} of job ${jobId} is gone`);
    job.Status = 'Progressing';
    job.Timing = { ...job.Timing, StartTimeMillis: Date.now() };
    for (const o of job.Outputs ?? []) o.Status = 'Progressing';
    for (const p of job.Playlists ?? []) p.Status = 'Progressing';
    await this.save(job);
    await this.notify(pipeline, job, 'PROGRESSING');

    const work = await mkdtemp(join(this.deps.workDir, 'job-'));
    let failure: JobFailure | undefined;
    try {
      await this.process(job, pipeline, work, signal);
    } catch (e) {
      if (this.queue.stopped) return;
      failure = e instanceof JobFailure ? e : e instanceof EngineError ? fromEngine(e) : new JobFailure(9000);
      if (!(e instanceof JobFailure || e instanceof EngineError)) {
        logger.error('transcoder job failed', { jobId, error: e instanceof Error ? e.message : String(e) });
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    await this.finish(job, pipeline, failure);
  }

  private async finish(job: Job, pipeline: Pipeline, failure: JobFailure | undefined): Promise<void> {
    const jobDetail = failure?.statusDetail();
    const outputs = job.Outputs ?? [];
    for (const o of outputs) {
      if (o.Status === 'Complete') continue;
      o.Status = 'Error';
      o.StatusDetail ??= jobDetail ?? new JobFailure(9000).statusDetail();
    }
    for (const p of job.Playlists ?? []) {
      if (p.Status === 'Complete') continue;
      p.Status = 'Error';
      const failed = outputs.find((o) => p.OutputKeys?.includes(o.Key ?? '') && o.Status === 'Error');
      p.StatusDetail = failed?.StatusDetail ?? jobDetail ?? new JobFailure(9000).statusDetail();
    }
    const firstError = outputs.find((o) => o.Status === 'Error');
    job.Status = firstError ? 'Error' : 'Complete';
    job.Timing = { ...job.Timing, FinishTimeMillis: Date.now() };
    await this.save(job);
    if (firstError?.StatusDetail) {
      logger.info('transcoder job failed', { jobId: job.Id, statusDetail: firstError.StatusDetail });
      await this.notify(pipeline, job, 'ERROR', {
        code: errorCodeOf(firstError.StatusDetail),
        detail: firstError.StatusDetail,
      });
    } else {
      logger.info('transcoder job complete', { jobId: job.Id });
      await this.notify(pipeline, job, 'COMPLETED');
    }
  }

  private async process(job: Job, pipeline: Pipeline, work: string, signal: AbortSignal): Promise<void> {
    const input = job.Input ?? {};
    const encryption = input.Encryption;
    const clientSide = encryption?.Mode !== undefined && CLIENT_SIDE.has(encryption.Mode);
    let inputKey: Buffer | undefined;
    let protections = new Map<string, Protection>();
    try {
      if (clientSide) {
        inputKey = await unwrapKey(
          this.deps.kms,
          { key: encryption?.Key ?? '', keyMd5: encryption?.KeyMd5 ?? '' },
          pipeline.AwsKmsKeyArn,
        );
      }
      protections = await this.protections(job, pipeline);
      const key = inputKey;
      const prepared = await prepareInput(
        { s3: this.deps.s3, ffmpeg: this.deps.ffmpeg },
        {
          bucket: pipeline.InputBucket ?? '',
          key: input.Key ?? '',
          ...(key
            ? {
                decryption: {
                  mode: encryption?.Mode as DecryptionMode,
                  iv: Buffer.from(encryption?.InitializationVector ?? '', 'base64'),
                  key: async () => key,
                },
              }
            : {}),
        },
        work,
        signal,
      );
      const { info } = prepared;
      input.DetectedProperties = {
        ...(info.video ? { Width: info.video.width, Height: info.video.height } : {}),
        ...(info.video?.frameRate ? { FrameRate: info.video.frameRate } : {}),
        FileSize: (await stat(prepared.file)).size,
        ...(info.durationMillis !== undefined ? { DurationMillis: info.durationMillis } : {}),
      };
      await this.save(job);

      const variants = await this.runLadder(job, pipeline, { prepared, work, protections, signal });
      await this.writePlaylists(job, pipeline, variants, protections, { work, signal });
    } finally {
      inputKey?.fill(0);
      for (const p of protections.values()) p.key.fill(0);
    }
  }

  private protectionOf(
    job: Job,
    output: JobOutput,
    protections: Map<string, Protection>,
  ): Protection | undefined {
    const playlist = (job.Playlists ?? []).find(
      (p) => p.OutputKeys?.includes(output.Key ?? '') && protections.has(p.Name ?? ''),
    );
    return playlist ? protections.get(playlist.Name ?? '') : undefined;
  }

  /** Unwraps (or, when Key is blank, generates) each playlist's AES-128 key; generated keys are kept wrapped in the job. */
  private async protections(job: Job, pipeline: Pipeline): Promise<Map<string, Protection>> {
    const out = new Map<string, Protection>();
    try {
      for (const playlist of job.Playlists ?? []) {
        const hls = playlist.HlsContentProtection;
        if (!hls) continue;
        let key: Buffer;
        if (hls.Key) {
          key = await unwrapKey(
            this.deps.kms,
            { key: hls.Key, keyMd5: hls.KeyMd5 ?? '' },
            pipeline.AwsKmsKeyArn,
          );
          if (key.length !== 16) {
            key.fill(0);
            throw new JobFailure(4020);
          }
        } else {
          key = await this.generateKey(pipeline, hls);
        }
        hls.InitializationVector ||= randomBytes(16).toString('base64');
        const name = playlist.Name ?? '';
        const keyObject = hls.KeyStoragePolicy === 'WithVariantPlaylists' ? `${name}.key` : undefined;
        const url = hls.LicenseAcquisitionUrl ?? '';
        out.set(name, {
          key,
          ivHex: Buffer.from(hls.InitializationVector, 'base64').toString('hex'),
          uriFor: (variantKey) => (keyObject ? relativeUri(`${variantKey}.m3u8`, keyObject) : url),
          ...(keyObject ? { keyObject } : {}),
        });
      }
    } catch (e) {
      for (const p of out.values()) p.key.fill(0);
      throw e;
    }
    return out;
  }

  private async generateKey(
    pipeline: Pipeline,
    hls: NonNullable<Job['Playlists']>[number]['HlsContentProtection'],
  ) {
    if (!pipeline.AwsKmsKeyArn || !hls) throw new JobFailure(4019, 'The pipeline has no AwsKmsKeyArn.');
    const generated = await this.deps.kms
      .send(
        new GenerateDataKeyCommand({
          KeyId: pipeline.AwsKmsKeyArn,
          KeySpec: 'AES_128',
          EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
        }),
      )
      .catch(() => {
        throw new JobFailure(4019);
      });
    const blob = Buffer.from(generated.CiphertextBlob ?? []);
    hls.Key = blob.toString('base64');
    hls.KeyMd5 = keyMd5(blob);
    return Buffer.from(generated.Plaintext ?? []);
  }

  /** All outputs in one engine run (one decode); each output is then uploaded and reported on its own. */
  private async runLadder(
    job: Job,
    pipeline: Pipeline,
    ctx: { prepared: PreparedInput; work: string; protections: Map<string, Protection>; signal: AbortSignal },
  ): Promise<Map<string, Variant>> {
    const outputs = job.Outputs ?? [];
    const renditions: RenditionPlan[] = await Promise.all(
      outputs.map(async (output, index) => {
        const settings = this.deps.settings.get(output.PresetId ?? '') as RenditionSettings;
        const dir = join(ctx.work, `output-${index}`);
        await mkdir(dir, { mode: 0o700 });
        const key = output.Key ?? '';
        const segmentDuration = output.SegmentDuration ? Number(output.SegmentDuration) : undefined;
        const protection = this.protectionOf(job, output, ctx.protections);
        return {
          settings,
          dir,
          base: posix.basename(key),
          ...(segmentDuration ? { segmentDuration } : {}),
          ...(protection && segmentDuration
            ? {
                encryption: {
                  key: protection.key,
                  iv: Buffer.from(protection.ivHex, 'hex'),
                  uri: protection.uriFor(key),
                },
              }
            : {}),
        };
      }),
    );
    const startSeconds = seconds(job.Input?.TimeSpan?.StartTime);
    const durationSeconds = seconds(job.Input?.TimeSpan?.Duration);
    const jobId = job.Id ?? '';
    const results = await transcodeLadder(
      this.deps.ffmpeg,
      {
        inputFile: ctx.prepared.file,
        input: ctx.prepared.info,
        renditions,
        ...(startSeconds ? { startSeconds } : {}),
        ...(durationSeconds ? { durationSeconds } : {}),
      },
      {
        signal: ctx.signal,
        tempDir: ctx.work,
        onProgress: (progress) => this.deps.onProgress?.(jobId, progress),
      },
    );
    const variants = new Map<string, Variant>();
    for (const [index, output] of outputs.entries()) {
      const result = results[index] as RenditionResult;
      const plan = renditions[index] as RenditionPlan;
      const key = output.Key ?? '';
      const folder = posix.dirname(key);
      // Playlists last, so anyone who sees a variant playlist also finds every segment it names.
      const files = [...result.files].sort(
        (a, b) => Number(a.endsWith('.m3u8')) - Number(b.endsWith('.m3u8')),
      );
      for (const f of files) {
        const objectKey = `${job.OutputKeyPrefix ?? ''}${folder === '.' ? f : `${folder}/${f}`}`;
        await this.upload(pipeline, objectKey, join(plan.dir, f), ctx.signal);
      }
      output.Duration = Math.round(result.durationMillis / 1000);
      output.DurationMillis = result.durationMillis;
      output.FileSize = result.fileSize;
      if (result.width !== undefined) output.Width = result.width;
      if (result.height !== undefined) output.Height = result.height;
      if (result.frameRate) output.FrameRate = result.frameRate;
      output.Status = 'Complete';
      await this.save(job);
      variants.set(key, {
        key,
        settings: plan.settings,
        width: result.width,
        height: result.height,
        bandwidth: result.bandwidth ?? 0,
        ...(result.codecs ? { codecs: result.codecs } : {}),
      });
    }
    return variants;
  }

  private async upload(
    pipeline: Pipeline,
    objectKey: string,
    file: string,
    signal: AbortSignal,
  ): Promise<void> {
    const bucket = pipeline.OutputBucket || pipeline.ContentConfig?.Bucket || '';
    await uploadFile(this.deps.s3, bucket, objectKey, file, signal).catch((e: unknown) => {
      if (this.queue.stopped) throw e;
      throw new JobFailure(9001, `bucket=${bucket}, key=${objectKey}`);
    });
  }

  private async writePlaylists(
    job: Job,
    pipeline: Pipeline,
    variants: Map<string, Variant>,
    protections: Map<string, Protection>,
    { work, signal }: { work: string; signal: AbortSignal },
  ): Promise<void> {
    const prefix = job.OutputKeyPrefix ?? '';
    for (const [index, playlist] of (job.Playlists ?? []).entries()) {
      const members = (playlist.OutputKeys ?? []).map((k) => variants.get(k));
      if (members.some((m) => m === undefined)) continue;
      const name = playlist.Name ?? '';
      const protection = protections.get(name);
      if (protection?.keyObject) {
        const keyFile = join(work, `playlist-${index}.key`);
        await writeFile(keyFile, protection.key, { mode: 0o600 });
        await this.upload(pipeline, `${prefix}${protection.keyObject}`, keyFile, signal);
      }
      const file = join(work, `playlist-${index}.m3u8`);
      await writeFile(file, masterPlaylist(name, members as Variant[]), { mode: 0o600 });
      await this.upload(pipeline, `${prefix}${name}.m3u8`, file, signal);
      playlist.Status = 'Complete';
    }
  }
}
