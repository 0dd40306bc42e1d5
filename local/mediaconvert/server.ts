import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { logger } from '../../lib/logger.js';
import type { FaultInjector } from '../faults.js';
import { sendRestJsonError } from '../http/errors.js';
import { createRequestGuard } from '../http/request-guard.js';
import {
  listenOnLoopback,
  matchRoute,
  parseJsonBody,
  readBody,
  sendJson,
  stopServer,
} from '../http/server.js';
import { resolveFfmpeg } from '../transcoder/ffmpeg.js';
import type { JobProgress } from '../transcoder/server.js';
import { ffmpegDyingWithParent, prepareWorkspace } from '../transcoder/workspace.js';
import { badRequest, McError } from './errors.js';
import { ACCOUNT_ID, type MediaConvertContext, ROUTES } from './routes.js';
import { JobRunner } from './runner.js';
import { SpekeClient } from './speke-client.js';
import { JobStore } from './store.js';
import { type JobPlan, parseCreateJob } from './wire.js';

export interface MediaConvertServerOptions {
  dataDir: string;
  host?: string;
  port?: number;
  region?: string;
  s3: { endpoint: string };
  kms: { endpoint: string };
  eventbridge: { endpoint: string };
  credentials: { accessKeyId: string; secretAccessKey: string };
  faults?: FaultInjector;
  ffmpegPath?: string;
  concurrency?: number;
}

export interface MediaConvertServer {
  endpoint: string;
  port: number;
  /** Progress of running jobs (the job's `jobPercentComplete` and each rendition's); returns the unsubscribe function. */
  onProgress(listener: (progress: JobProgress) => void): () => void;
  stop(): Promise<void>;
}

const API = '/2017-08-29';
const MAX_BODY = 1024 * 1024;

export async function startMediaConvertServer(opts: MediaConvertServerOptions): Promise<MediaConvertServer> {
  const region = opts.region ?? 'us-east-1';
  const store = await JobStore.open(opts.dataDir);
  const plans = new Map<string, JobPlan>();
  const ffmpeg = await resolveFfmpeg(opts.ffmpegPath ?? process.env.FFMPEG_PATH);
  const workDir = prepareWorkspace(opts.dataDir, 'mediaconvert');
  const common = { region, credentials: opts.credentials, maxAttempts: 3 };
  const s3 = new S3Client({ ...common, endpoint: opts.s3.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ ...common, endpoint: opts.kms.endpoint });
  const events = new EventBridgeClient({ ...common, endpoint: opts.eventbridge.endpoint });
  const speke = new SpekeClient({ region, credentials: opts.credentials });
  const progressListeners = new Set<(progress: JobProgress) => void>();
  const runner = new JobRunner({
    store,
    plans,
    s3,
    kms,
    events,
    speke,
    ffmpeg: ffmpegDyingWithParent(opts.dataDir, ffmpeg, 'mediaconvert'),
    workDir,
    concurrency: opts.concurrency ?? 2,
    accountId: ACCOUNT_ID,
    region,
    onProgress: (progress) => {
      for (const listener of progressListeners) listener(progress);
    },
  });
  const defaultQueue = `arn:aws:mediaconvert:${region}:${ACCOUNT_ID}:queues/Default`;

  const ctx: MediaConvertContext = { store, plans, runner, region, defaultQueue };

  const guard = createRequestGuard({
    auth: { credentials: { ...opts.credentials }, region },
    services: ['mediaconvert'],
    protocol: 'rest-json',
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req, MAX_BODY, () => badRequest('Request body is too large.'));
    if (!(await guard.admit(req, res, raw))) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.startsWith(`${API}/`) ? url.pathname.slice(API.length) : '';
    const matched = matchRoute(ROUTES, req.method, path);
    if (!matched.route) {
      throw new McError(
        'NotFoundException',
        `${req.method} ${url.pathname} is not supported by the local MediaConvert.`,
      );
    }
    const { route, params } = matched;
    // Fault specs name the transcoder, whichever backend serves it, so chaos runs apply to both.
    const fault = opts.faults?.decide('transcoder', route.operation);
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    const body = parseJsonBody(raw, () => badRequest('Request body is not valid JSON.'));
    if (fault === 'throttle' || fault === 'slowdown')
      throw new McError('TooManyRequestsException', 'Too Many Requests');
    if (fault === 'internal') throw new McError('InternalServerErrorException', 'Internal server error');
    const reply = await route.handle(ctx, { params, query: url.searchParams, body });
    sendJson(res, reply.status, reply.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const error =
        e instanceof McError ? e : new McError('InternalServerErrorException', 'Internal server error');
      if (!(e instanceof McError)) {
        logger.error('local MediaConvert request failed', {
          error: e instanceof Error ? e.message : String(e),
        });
      }
      sendRestJsonError(res, error.status, error.type, error.message);
    });
  });
  const { endpoint, port } = await listenOnLoopback(server, opts.host, opts.port);

  // A job that was running when the server stopped starts over (outputs are overwritten, so a re-run is harmless);
  // its plan is re-derived from the stored settings.
  for (const job of store.jobs.values()) {
    if (job.status !== 'SUBMITTED' && job.status !== 'PROGRESSING') continue;
    const { plan } = parseCreateJob({ role: job.role, settings: job.settings });
    plans.set(job.id, plan);
    job.status = 'SUBMITTED';
    delete job.currentPhase;
    await store.save(job);
    runner.enqueue(job.id);
  }

  return {
    endpoint,
    port,
    onProgress(listener) {
      progressListeners.add(listener);
      return () => progressListeners.delete(listener);
    },
    async stop() {
      await stopServer(server);
      await runner.stop();
      await store.flush();
      for (const client of [s3, kms, events]) client.destroy();
    },
  };
}
