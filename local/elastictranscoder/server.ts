import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Job, Preset } from '@aws-sdk/client-elastic-transcoder';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { logger } from '../../lib/logger.js';
import {
  DEFAULT_JOB_CONCURRENCY,
  type FfmpegBinary,
  ffmpegDyingWithParent,
  type JobProgress,
  type LocalTranscoderOptions,
  ProgressListeners,
  prepareWorkspace,
  selectFfmpeg,
} from '../engine/index.js';
import {
  createRequestGuard,
  handleRestJson,
  type RestJsonErrors,
  sendRestJsonError,
  serveOnLoopback,
} from '../http/index.js';
import { EtError, invalid } from './errors.js';
import { renditionFromPreset, systemPresets } from './presets.js';
import { ROUTES, type TranscoderContext } from './routes.js';
import { JobRunner } from './runner.js';
import { TranscoderStore } from './store.js';

export interface TranscoderServerOptions extends LocalTranscoderOptions {
  sns: { endpoint: string };
}

export interface TranscoderServer {
  endpoint: string;
  port: number;
  /** The ffmpeg this server runs. */
  ffmpeg: FfmpegBinary;
  /** Progress of running jobs, a few times a second each; returns the unsubscribe function. */
  onProgress(listener: (progress: JobProgress) => void): () => void;
  stop(): Promise<void>;
}

const ACCOUNT_ID = '000000000000';
const API = '/2012-09-25';

function sendError(res: ServerResponse, e: EtError): void {
  sendRestJsonError(res, e.status, e.type, e.message);
}

const ERRORS: RestJsonErrors = {
  tooLarge: () => invalid('Request body is too large.'),
  invalidJson: () => invalid('Request body is not valid JSON.'),
  noRoute: (method, path) => invalid(`${method} ${path} is not supported by the local Elastic Transcoder.`),
  throttled: () => new EtError('LimitExceededException', 'Rate exceeded'),
  internal: () => new EtError('InternalServiceException', 'Internal service error'),
};

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (!(e instanceof EtError))
    logger.error('local transcoder request failed', { error: e instanceof Error ? e.message : String(e) });
  sendError(
    res,
    e instanceof EtError ? e : new EtError('InternalServiceException', 'Internal service error'),
  );
}

/** A job that was running when the server stopped starts over (see runner.ts). */
function resetForRerun(job: Job): void {
  job.Status = 'Submitted';
  job.Timing = { SubmitTimeMillis: job.Timing?.SubmitTimeMillis ?? Date.now() };
  for (const o of job.Outputs ?? []) {
    o.Status = 'Submitted';
    for (const field of [
      'StatusDetail',
      'Duration',
      'DurationMillis',
      'Width',
      'Height',
      'FileSize',
      'FrameRate',
    ] as const) {
      delete o[field];
    }
  }
  for (const p of job.Playlists ?? []) {
    p.Status = 'Submitted';
    delete p.StatusDetail;
  }
}

/** Queues the jobs a stopped server left waiting or running; a running one starts over. */
async function resumeJobs({ store, runner }: TranscoderContext): Promise<void> {
  for (const job of store.jobs.values()) {
    if (job.Status === 'Progressing') {
      resetForRerun(job);
      await store.saveJob(job as Job & { Id: string });
    }
    if (job.Status === 'Submitted') runner.enqueue(job.Id ?? '');
  }
}

export async function startTranscoderServer(opts: TranscoderServerOptions): Promise<TranscoderServer> {
  const region = opts.region ?? 'us-east-1';
  const store = await TranscoderStore.open(opts.dataDir);
  const workDir = prepareWorkspace(opts.dataDir, 'transcoder');
  const ffmpeg = opts.ffmpeg ?? (await selectFfmpeg(opts.ffmpegPath ? { explicit: opts.ffmpegPath } : {}));
  const common = { region, credentials: opts.credentials, maxAttempts: 3 };
  const s3 = new S3Client({ ...common, endpoint: opts.s3.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ ...common, endpoint: opts.kms.endpoint });
  const sns = new SNSClient({ ...common, endpoint: opts.sns.endpoint });
  const presetList = systemPresets(region, ACCOUNT_ID);
  const presets = new Map(presetList.map((p): [string, Preset] => [p.Id ?? '', p]));
  const progress = new ProgressListeners();
  const runner = new JobRunner({
    store,
    settings: new Map(presetList.map((p) => [p.Id ?? '', renditionFromPreset(p)])),
    s3,
    kms,
    sns,
    ffmpeg: ffmpegDyingWithParent(opts.dataDir, ffmpeg.path, 'transcoder'),
    workDir,
    concurrency: opts.concurrency ?? DEFAULT_JOB_CONCURRENCY,
    onProgress: (jobId, ladder) => {
      const job = store.jobs.get(jobId);
      progress.publish({
        ...ladder,
        jobId,
        userMetadata: { ...(job?.UserMetadata ?? {}) },
        outputKeys: (job?.Outputs ?? []).map((o) => o.Key ?? ''),
      });
    },
  });

  const guard = createRequestGuard({
    auth: { credentials: { ...opts.credentials }, region },
    services: ['elastictranscoder'],
    protocol: 'rest-json',
  });
  const ctx: TranscoderContext = {
    store,
    presets,
    presetList,
    runner,
    arn: (kind, id) => `arn:aws:elastictranscoder:${region}:${ACCOUNT_ID}:${kind}/${id}`,
  };

  const endpoint = { apiPrefix: API, routes: ROUTES, guard, faults: opts.faults, errors: ERRORS };
  const served = await serveOnLoopback((req, res) => handleRestJson(endpoint, ctx, req, res), fail, opts);

  await resumeJobs(ctx);

  return {
    endpoint: served.endpoint,
    port: served.port,
    ffmpeg,
    onProgress: (listener) => progress.subscribe(listener),
    async stop() {
      await served.stop();
      await runner.stop();
      await store.flush();
      for (const client of [s3, kms, sns]) client.destroy();
    },
  };
}
