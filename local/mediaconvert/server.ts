/**
 * The local AWS Elemental MediaConvert endpoint: REST-JSON, API version 2017-08-29, the operations this project uses
 * (CreateJob, GetJob, ListJobs, SearchJobs, CancelJob). Errors carry their type in `x-amzn-ErrorType` and the text
 * in `{"message"}`, which `@aws-sdk/client-mediaconvert` and the AWS CLI parse. Jobs run on the same ffmpeg engine as
 * the local Elastic Transcoder. Requests pass the stack's request guard first (loopback Host, SigV4 for
 * `mediaconvert` with the stack's credentials; local/http/request-guard.ts).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { logger } from '../../lib/logger.js';
import type { FaultInjector } from '../faults.js';
import { createRequestGuard, loopbackBindAddress } from '../http/request-guard.js';
import { resolveFfmpeg } from '../transcoder/ffmpeg.js';
import { ffmpegDyingWithParent, prepareWorkspace } from '../transcoder/workspace.js';
import { badRequest, McError } from './errors.js';
import { JobRunner } from './runner.js';
import { SpekeClient } from './speke-client.js';
import { JobStore, newJobId } from './store.js';
import { type JobPlan, parseCreateJob, type WireJob } from './wire.js';

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
  stop(): Promise<void>;
}

const ACCOUNT_ID = '000000000000';
const API = '/2017-08-29';
const MAX_BODY = 1024 * 1024;
/** The same token within this window returns the first job (ClientRequestToken semantics). */
const TOKEN_WINDOW_SECONDS = 60;
const STATUSES = new Set(['SUBMITTED', 'PROGRESSING', 'COMPLETE', 'CANCELED', 'ERROR']);

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(payload);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw badRequest('Request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('Request body is not valid JSON.');
  }
}

/** ListJobs/SearchJobs paging: at most 20 a page, newest first unless `order=ASCENDING`. */
function page(jobs: WireJob[], query: URLSearchParams) {
  const order = query.get('order') ?? 'DESCENDING';
  if (order !== 'ASCENDING' && order !== 'DESCENDING')
    throw badRequest('order must be ASCENDING or DESCENDING');
  const max = Number(query.get('maxResults') ?? 20);
  if (!Number.isInteger(max) || max < 1 || max > 20) throw badRequest('maxResults must be between 1 and 20');
  const status = query.get('status');
  if (status !== null && !STATUSES.has(status)) throw badRequest(`status ${status} is not a job status`);
  const queue = query.get('queue');
  const filtered = jobs
    .filter((j) => status === null || j.status === status)
    .filter((j) => queue === null || j.queue === queue || j.queue.endsWith(`/${queue}`))
    .sort(
      (a, b) =>
        (order === 'ASCENDING' ? a.createdAt - b.createdAt : b.createdAt - a.createdAt) ||
        a.id.localeCompare(b.id),
    );
  const token = query.get('nextToken');
  const start = token ? Number(Buffer.from(token, 'base64url').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw badRequest('nextToken is not valid');
  const items = filtered.slice(start, start + max);
  return {
    jobs: items,
    ...(start + max < filtered.length
      ? { nextToken: Buffer.from(String(start + max)).toString('base64url') }
      : {}),
  };
}

export async function startMediaConvertServer(opts: MediaConvertServerOptions): Promise<MediaConvertServer> {
  const region = opts.region ?? 'us-east-1';
  const host = loopbackBindAddress(opts.host);
  const store = await JobStore.open(opts.dataDir);
  const plans = new Map<string, JobPlan>();
  const ffmpeg = await resolveFfmpeg(opts.ffmpegPath ?? process.env.FFMPEG_PATH);
  const workDir = prepareWorkspace(opts.dataDir, 'mediaconvert');
  const common = { region, credentials: opts.credentials, maxAttempts: 3 };
  const s3 = new S3Client({ ...common, endpoint: opts.s3.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ ...common, endpoint: opts.kms.endpoint });
  const events = new EventBridgeClient({ ...common, endpoint: opts.eventbridge.endpoint });
  const speke = new SpekeClient({ region, credentials: opts.credentials });
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
  });
  const defaultQueue = `arn:aws:mediaconvert:${region}:${ACCOUNT_ID}:queues/Default`;

  const jobOf = (id: string): WireJob => {
    const job = store.jobs.get(id);
    if (!job) throw new McError('NotFoundException', `The job ${id} could not be found.`);
    return job;
  };

  const createJob = async (body: unknown) => {
    const { request, plan } = parseCreateJob(body);
    const now = Math.floor(Date.now() / 1000);
    if (request.clientRequestToken) {
      const earlier = [...store.jobs.values()].find(
        (j) =>
          j.clientRequestToken === request.clientRequestToken && now - j.createdAt <= TOKEN_WINDOW_SECONDS,
      );
      if (earlier) return { status: 201, body: { job: earlier } };
    }
    const id = newJobId();
    const queue = request.queue
      ? request.queue.startsWith('arn:')
        ? request.queue
        : `arn:aws:mediaconvert:${region}:${ACCOUNT_ID}:queues/${request.queue}`
      : defaultQueue;
    const job: WireJob = {
      id,
      arn: `arn:aws:mediaconvert:${region}:${ACCOUNT_ID}:jobs/${id}`,
      createdAt: now,
      role: request.role,
      queue,
      status: 'SUBMITTED',
      settings: request.settings,
      ...(request.userMetadata ? { userMetadata: request.userMetadata } : {}),
      ...(request.clientRequestToken ? { clientRequestToken: request.clientRequestToken } : {}),
      timing: { submitTime: now },
      accelerationStatus: 'NOT_APPLICABLE',
      billingTagsSource: 'JOB',
      priority: 0,
      retryCount: 0,
      statusUpdateInterval: 'SECONDS_60',
      messages: { info: [], warning: [] },
    };
    plans.set(id, plan);
    await store.save(job);
    const response = structuredClone(job);
    runner.enqueue(id);
    return { status: 201, body: { job: response } };
  };

  const cancelJob = async (id: string) => {
    const job = jobOf(id);
    if (job.status !== 'SUBMITTED' && job.status !== 'PROGRESSING') {
      throw new McError('ConflictException', `The job ${id} cannot be canceled in status ${job.status}.`);
    }
    const wasRunning = job.status === 'PROGRESSING';
    runner.cancel(id);
    if (!wasRunning) {
      job.status = 'CANCELED';
      job.timing.finishTime = Math.floor(Date.now() / 1000);
      await store.save(job);
      await runner.emit(job);
    }
    return { status: 202, body: {} };
  };

  const guard = createRequestGuard({
    auth: { credentials: { ...opts.credentials }, region },
    services: ['mediaconvert'],
    protocol: 'rest-json',
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (!(await guard.admit(req, res, raw))) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.startsWith(`${API}/`) ? url.pathname.slice(API.length) : '';
    const jobId = /^\/jobs\/([^/]+)$/.exec(path)?.[1];
    const operation =
      req.method === 'POST' && path === '/jobs'
        ? 'CreateJob'
        : req.method === 'GET' && path === '/jobs'
          ? 'ListJobs'
          : req.method === 'GET' && path === '/search'
            ? 'SearchJobs'
            : req.method === 'GET' && jobId
              ? 'GetJob'
              : req.method === 'DELETE' && jobId
                ? 'CancelJob'
                : undefined;
    if (!operation) {
      throw new McError(
        'NotFoundException',
        `${req.method} ${url.pathname} is not supported by the local MediaConvert.`,
      );
    }
    // Fault specs name the transcoder, whichever backend serves it, so chaos runs apply to both.
    const fault = opts.faults?.decide('transcoder', operation);
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    const body = parseJson(raw);
    if (fault === 'throttle' || fault === 'slowdown')
      throw new McError('TooManyRequestsException', 'Too Many Requests');
    if (fault === 'internal') throw new McError('InternalServerErrorException', 'Internal server error');
    const id = decodeURIComponent(jobId ?? '');
    const reply =
      operation === 'CreateJob'
        ? await createJob(body)
        : operation === 'GetJob'
          ? { status: 200, body: { job: jobOf(id) } }
          : operation === 'CancelJob'
            ? await cancelJob(id)
            : operation === 'ListJobs'
              ? { status: 200, body: page([...store.jobs.values()], url.searchParams) }
              : {
                  status: 200,
                  body: page(
                    [...store.jobs.values()].filter((j) => {
                      const wanted = url.searchParams.get('inputFile');
                      const inputs = (j.settings as { inputs?: Array<{ fileInput?: string }> }).inputs ?? [];
                      return wanted === null || inputs.some((i) => i.fileInput?.includes(wanted));
                    }),
                    url.searchParams,
                  ),
                };
    send(res, reply.status, reply.body);
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
      send(res, error.status, { message: error.message }, { 'x-amzn-errortype': error.type });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });

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

  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    async stop() {
      const closed = new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
      server.closeAllConnections();
      await closed;
      await runner.stop();
      await store.flush();
      for (const client of [s3, kms, events]) client.destroy();
    },
  };
}
