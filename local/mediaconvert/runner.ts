/**
 * Job execution: SUBMITTED → PROGRESSING (PROBING, TRANSCODING, UPLOADING) → COMPLETE | ERROR | CANCELED, a few
 * jobs at a time, each in its own 0700 directory under the data directory's workspace, removed afterwards (and swept
 * at start). The input key is unwrapped with KMS under MediaConvert's encryption context; the HLS key comes from the
 * SPEKE server and lives in memory and, while ffmpeg needs it, in a 0600 file in the job's directory. Neither ever
 * reaches the job record or an event. The job's settings become engine output groups once (output-groups.ts); the
 * engine (local/engine) runs the whole ladder in one ffmpeg process (one decode) and uploads it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DecryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import { sdkErrorInfo } from '../../lib/errors.js';
import { MEDIACONVERT_CONTEXT } from '../../lib/kms/contexts.js';
import { logger } from '../../lib/logger.js';
import {
  type EncodedGroup,
  EngineError,
  encodeGroups,
  type JobProgress,
  JobQueue,
  outputKeys,
  type PreparedInput,
  prepareInput,
  uploadGroups,
} from '../engine/index.js';
import { fromEngine, JOB_ERRORS, JobError } from './errors.js';
import { outputGroupsFor } from './output-groups.js';
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
  /** Parent of each job's private directory (local/engine/workspace.ts). */
  workDir: string;
  concurrency: number;
  accountId: string;
  region: string;
  /** Progress of running jobs: `percent` is the job's `jobPercentComplete`, with the ladder's per-rendition percent. */
  onProgress?: (progress: JobProgress) => void;
}

const seconds = () => Math.floor(Date.now() / 1000);

export class JobRunner {
  private readonly queue: JobQueue;

  constructor(private readonly deps: RunnerDeps) {
    this.queue = new JobQueue({
      concurrency: deps.concurrency,
      service: 'local MediaConvert',
      run: (jobId, signal) => this.execute(jobId, signal),
    });
  }

  enqueue(jobId: string): void {
    this.queue.enqueue(jobId);
  }

  /** Cancels a queued or running job; false when it is neither. */
  cancel(jobId: string): boolean {
    return this.queue.cancel(jobId);
  }

  stop(): Promise<void> {
    return this.queue.stop();
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
      const groups = await this.process(job, plan, work, signal);
      if (signal.aborted) throw signal.reason;
      job.jobPercentComplete = 100;
      job.outputGroupDetails = groups.map((g) => ({
        outputDetails: g.outputs.map((o) => ({ durationInMs: o.durationMillis, ...videoDetails(o) })),
      }));
      await this.finish(job, 'COMPLETE', { outputGroupDetails: groups.map(eventGroupDetails) });
      logger.info('local MediaConvert job complete', { jobId });
    } catch (e) {
      if (this.queue.stopped) return;
      if (signal.aborted) {
        await this.finish(job, 'CANCELED');
        return;
      }
      const failure =
        e instanceof JobError
          ? e
          : e instanceof EngineError
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

  /** Input, SPEKE keys, one ladder run for every output group, uploads: the engine does each step. */
  private async process(
    job: WireJob,
    plan: JobPlan,
    work: string,
    signal: AbortSignal,
  ): Promise<EncodedGroup[]> {
    const keys: (SpekeKey | undefined)[] = [];
    try {
      const input = await this.prepareInput(plan, work, signal);
      for (const group of plan.outputGroups) {
        keys.push(
          group.speke
            ? await this.deps.speke.keyFor(group.speke.url, group.speke.resourceId, signal)
            : undefined,
        );
      }
      job.currentPhase = 'TRANSCODING';
      await this.deps.store.save(job);
      const groups = outputGroupsFor(plan, keys, randomBytes(16));
      const names = outputKeys(groups);
      const encoded = await encodeGroups(this.deps.ffmpeg, input, groups, {
        work,
        signal,
        // GetJob reads the job from memory: the percentage is visible at once, and saved with the next phase.
        onProgress: (progress) => {
          job.jobPercentComplete = Math.min(90, Math.round(progress.percent * 0.9));
          this.deps.onProgress?.({
            ...progress,
            percent: job.jobPercentComplete,
            jobId: job.id,
            userMetadata: { ...(job.userMetadata ?? {}) },
            outputKeys: names,
          });
        },
      });
      job.jobPercentComplete = 90;
      job.currentPhase = 'UPLOADING';
      await this.deps.store.save(job);
      await uploadGroups(this.deps.s3, encoded, { work, signal });
      return encoded;
    } finally {
      for (const key of keys) key?.key.fill(0);
    }
  }

  /** The engine downloads, decrypts and probes the input; an audio description needs audio in it. */
  private async prepareInput(plan: JobPlan, work: string, signal: AbortSignal): Promise<PreparedInput> {
    const decryption = plan.input.decryption;
    const input = await prepareInput(
      { s3: this.deps.s3, ffmpeg: this.deps.ffmpeg },
      {
        bucket: plan.input.bucket,
        key: plan.input.key,
        ...(decryption
          ? {
              decryption: {
                mode: decryption.mode,
                iv: Buffer.from(decryption.iv, 'base64'),
                key: () => this.unwrapInputKey(decryption.encryptedKey),
              },
            }
          : {}),
      },
      work,
      signal,
    );
    const withAudio = plan.outputGroups.flatMap((g) => g.outputs).find((r) => r.audio);
    if (withAudio && !input.info.hasAudio) {
      throw new JobError(JOB_ERRORS.noAudio, `No audio found in the input for ${withAudio.audio?.selector}`);
    }
    return input;
  }
}

function videoDetails(o: { width?: number; height?: number }) {
  return o.width && o.height ? { videoDetails: { widthInPx: o.width, heightInPx: o.height } } : {};
}

/** One group's entry in the COMPLETE event: where its playlists went, with each output's duration and size. */
function eventGroupDetails(encoded: EncodedGroup) {
  const s3 = (key: string) => `s3://${encoded.group.destination.bucket}/${key}`;
  return {
    type: 'HLS_GROUP',
    playlistFilePaths: [s3(encoded.masterKey)],
    outputDetails: encoded.outputs.map((o) => ({
      outputFilePaths: [s3(o.playlistKey)],
      durationInMs: o.durationMillis,
      ...videoDetails(o),
    })),
  };
}
