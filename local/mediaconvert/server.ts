import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { logger } from '../../lib/logger.js';
import {
  DEFAULT_JOB_CONCURRENCY,
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
import { badRequest, McError } from './errors.js';
import { ACCOUNT_ID, type MediaConvertContext, ROUTES } from './routes.js';
import { JobRunner } from './runner.js';
import { SpekeClient } from './speke-client.js';
import { JobStore } from './store.js';
import { type JobPlan, parseCreateJob } from './wire.js';

export interface MediaConvertServerOptions extends LocalTranscoderOptions {
  eventbridge: { endpoint: string };
}

export interface MediaConvertServer {
  endpoint: string;
  port: number;
  /** Progress of running jobs (the job's `jobPercentComplete` and each rendition's); returns the unsubscribe function. */
  onProgress(listener: (progress: JobProgress) => void): () => void;
  stop(): Promise<void>;
}

const API = '/2017-08-29';

const ERRORS: RestJsonErrors = {
  tooLarge: () => badRequest('Request body is too large.'),
  invalidJson: () => badRequest('Request body is not valid JSON.'),
  noRoute: (method, path) =>
    new McError('NotFoundException', `${method} ${path} is not supported by the local MediaConvert.`),
  throttled: () => new McError('TooManyRequestsException', 'Too Many Requests'),
  internal: () => new McError('InternalServerErrorException', 'Internal server error'),
};

function fail(e: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (!(e instanceof McError))
    logger.error('local MediaConvert request failed', { error: e instanceof Error ? e.message : String(e) });
  const error =
    e instanceof McError ? e : new McError('InternalServerErrorException', 'Internal server error');
  sendRestJsonError(res, error.status, error.type, error.message);
}

/**
 * A job that was running when the server stopped starts over (outputs are overwritten, so a re-run is harmless);
 * its plan is re-derived from the stored settings.
 */
async function resumeJobs({ store, plans, runner }: MediaConvertContext): Promise<void> {
  for (const job of store.jobs.values()) {
    if (job.status !== 'SUBMITTED' && job.status !== 'PROGRESSING') continue;
    const { plan } = parseCreateJob({ role: job.role, settings: job.settings });
    plans.set(job.id, plan);
    job.status = 'SUBMITTED';
    delete job.currentPhase;
    await store.save(job);
    runner.enqueue(job.id);
  }
}

export async function startMediaConvertServer(opts: MediaConvertServerOptions): Promise<MediaConvertServer> {
  const region = opts.region ?? 'us-east-1';
  const store = await JobStore.open(opts.dataDir);
  const plans = new Map<string, JobPlan>();
  const ffmpeg =
    opts.ffmpeg?.path ?? (await selectFfmpeg(opts.ffmpegPath ? { explicit: opts.ffmpegPath } : {})).path;
  const workDir = prepareWorkspace(opts.dataDir, 'mediaconvert');
  const common = { region, credentials: opts.credentials, maxAttempts: 3 };
  const s3 = new S3Client({ ...common, endpoint: opts.s3.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ ...common, endpoint: opts.kms.endpoint });
  const events = new EventBridgeClient({ ...common, endpoint: opts.eventbridge.endpoint });
  const speke = new SpekeClient({ region, credentials: opts.credentials });
  const progress = new ProgressListeners();
  const runner = new JobRunner({
    store,
    plans,
    s3,
    kms,
    events,
    speke,
    ffmpeg: ffmpegDyingWithParent(opts.dataDir, ffmpeg, 'mediaconvert'),
    workDir,
    concurrency: opts.concurrency ?? DEFAULT_JOB_CONCURRENCY,
    accountId: ACCOUNT_ID,
    region,
    onProgress: (p) => progress.publish(p),
  });
  const defaultQueue = `arn:aws:mediaconvert:${region}:${ACCOUNT_ID}:queues/Default`;

  const guard = createRequestGuard({
    auth: { credentials: { ...opts.credentials }, region },
    services: ['mediaconvert'],
    protocol: 'rest-json',
  });
  const ctx: MediaConvertContext = {
    store,
    plans,
    runner,
    region,
    defaultQueue,
  };

  const endpoint = { apiPrefix: API, routes: ROUTES, guard, faults: opts.faults, errors: ERRORS };
  const served = await serveOnLoopback((req, res) => handleRestJson(endpoint, ctx, req, res), fail, opts);

  await resumeJobs(ctx);

  return {
    endpoint: served.endpoint,
    port: served.port,
    onProgress: (listener) => progress.subscribe(listener),
    async stop() {
      await served.stop();
      await runner.stop();
      await store.flush();
      for (const client of [s3, kms, events]) client.destroy();
    },
  };
}
