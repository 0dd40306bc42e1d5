/**
 * The local Elastic Transcoder endpoint: REST-JSON, API version 2012-09-25, the routes of the service model that
 * this project uses. Errors carry their type in `x-amzn-ErrorType` and the text in `{"message"}`, which is what
 * `@aws-sdk/client-elastic-transcoder` and the AWS CLI parse. Requests pass the stack's request guard first
 * (loopback Host, SigV4 with `credentials`, the stack's keys that the transcoder also calls S3, KMS and SNS with).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Job, JobOutput, Pipeline, Preset } from '@aws-sdk/client-elastic-transcoder';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { logger } from '../../lib/logger.js';
import type { FaultInjector } from '../faults.js';
import { createRequestGuard, loopbackBindAddress } from '../http/request-guard.js';
import { EtError, invalid } from './errors.js';
import { type FfmpegBinary, selectFfmpeg } from './ffmpeg.js';
import { systemPresets } from './presets.js';
import { JobRunner } from './runner.js';
import { newId, TranscoderStore } from './store.js';
import type { LadderProgress } from './transcode.js';
import { ID_PATTERN, JOB_STATUSES, parseCreateJob, parseCreatePipeline, resolveJob } from './validate.js';
import { ffmpegDyingWithParent, prepareWorkspace } from './workspace.js';

export interface TranscoderServerOptions {
  dataDir: string;
  host?: string;
  port?: number;
  region?: string;
  s3: { endpoint: string };
  kms: { endpoint: string };
  sns: { endpoint: string };
  /** The stack's credentials: the transcoder signs its own calls with them and accepts only requests signed so. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  faults?: FaultInjector;
  /** Defaults to env FFMPEG_PATH, then an ffmpeg ≥ 5 on PATH, then the binary of `@ffmpeg-installer/ffmpeg`. */
  ffmpegPath?: string;
  /** An ffmpeg already chosen by the caller (takes precedence over `ffmpegPath`). */
  ffmpeg?: FfmpegBinary;
  /** Jobs transcoded at the same time (default DEFAULT_JOB_CONCURRENCY). */
  concurrency?: number;
}

/** A running job's progress: the job, and where its ladder is (transcode.ts). */
export interface JobProgress extends LadderProgress {
  jobId: string;
  /** The job's `UserMetadata` (the workflow puts its execution name there). */
  userMetadata: Record<string, string>;
  /** Output keys, in the order of `renditions`. */
  outputKeys: string[];
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
/** Jobs transcoded at the same time unless told otherwise; each job's ffmpeg already uses every core. */
export const DEFAULT_JOB_CONCURRENCY = 2;
const API = '/2012-09-25';
const PAGE_SIZE = 50;
const MAX_BODY = 1024 * 1024;

interface Request {
  params: string[];
  query: URLSearchParams;
  body: unknown;
}
interface Reply {
  status: number;
  body: unknown;
}
type Route = {
  method: string;
  path: RegExp;
  operation: string;
  handle(req: Request): Promise<Reply> | Reply;
};

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

function sendError(res: ServerResponse, e: EtError): void {
  send(res, e.status, { message: e.message }, { 'x-amzn-errortype': e.type });
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw invalid('Request body is too large.');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw invalid('Request body is not valid JSON.');
  }
}

/** `PageToken` is the id of the first item of the page, as opaque to clients as the service's tokens. */
function page<T>(items: T[], idOf: (t: T) => string | undefined, query: URLSearchParams) {
  const ordered = query.get('Ascending') === 'false' ? [...items].reverse() : items;
  const token = query.get('PageToken');
  const start = token ? ordered.findIndex((t) => idOf(t) === token) : 0;
  if (start < 0) throw invalid(`PageToken ${token} is not valid.`);
  const next = ordered[start + PAGE_SIZE];
  return { items: ordered.slice(start, start + PAGE_SIZE), ...(next ? { NextPageToken: idOf(next) } : {}) };
}

function checkId(kind: string, id: string | undefined): string {
  if (!id || !ID_PATTERN.test(id)) throw invalid(`${kind} Id ${id ?? ''} must match ^\\d{13}-\\w{6}$.`);
  return id;
}

/** The response form of a stored job: the service echoes the singular Input/Output next to the lists. */
function view(job: Job): Job {
  const outputs = job.Outputs ?? [];
  return {
    ...job,
    Inputs: job.Input ? [job.Input] : [],
    ...(outputs.length === 1 ? { Output: outputs[0] } : {}),
  };
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

export async function startTranscoderServer(opts: TranscoderServerOptions): Promise<TranscoderServer> {
  const region = opts.region ?? 'us-east-1';
  const host = loopbackBindAddress(opts.host);
  const arn = (kind: string, id: string) => `arn:aws:elastictranscoder:${region}:${ACCOUNT_ID}:${kind}/${id}`;
  const store = await TranscoderStore.open(opts.dataDir);
  const workDir = prepareWorkspace(opts.dataDir);
  const ffmpeg = opts.ffmpeg ?? (await selectFfmpeg(opts.ffmpegPath ? { explicit: opts.ffmpegPath } : {}));
  const common = { region, credentials: opts.credentials, maxAttempts: 3 };
  const s3 = new S3Client({ ...common, endpoint: opts.s3.endpoint, forcePathStyle: true });
  const kms = new KMSClient({ ...common, endpoint: opts.kms.endpoint });
  const sns = new SNSClient({ ...common, endpoint: opts.sns.endpoint });
  const presetList = systemPresets(region, ACCOUNT_ID);
  const presets = new Map(presetList.map((p): [string, Preset] => [p.Id ?? '', p]));
  const progressListeners = new Set<(progress: JobProgress) => void>();
  const runner = new JobRunner({
    store,
    presets,
    s3,
    kms,
    sns,
    ffmpeg: ffmpegDyingWithParent(opts.dataDir, ffmpeg.path),
    workDir,
    concurrency: opts.concurrency ?? DEFAULT_JOB_CONCURRENCY,
    onProgress: (jobId, progress) => {
      const job = store.jobs.get(jobId);
      const event: JobProgress = {
        ...progress,
        jobId,
        userMetadata: { ...(job?.UserMetadata ?? {}) },
        outputKeys: (job?.Outputs ?? []).map((o) => o.Key ?? ''),
      };
      for (const listener of progressListeners) listener(event);
    },
  });

  const pipelineOf = (id: string): Pipeline => {
    const p = store.pipelines.get(checkId('Pipeline', id));
    if (!p)
      throw new EtError(
        'ResourceNotFoundException',
        `The specified pipeline was not found: pipelineId=${id}.`,
      );
    return p;
  };
  const jobOf = (id: string): Job => {
    const j = store.jobs.get(checkId('Job', id));
    if (!j) throw new EtError('ResourceNotFoundException', `The specified job was not found: jobId=${id}.`);
    return j;
  };

  const routes: Route[] = [
    {
      method: 'POST',
      path: /^\/pipelines\/?$/,
      operation: 'CreatePipeline',
      async handle({ body }) {
        const req = parseCreatePipeline(body);
        const id = newId();
        const bucketConfig = (bucket: string | undefined) => ({
          Bucket: bucket,
          StorageClass: 'Standard',
          Permissions: [],
        });
        const pipeline: Pipeline & { Id: string } = {
          Id: id,
          Arn: arn('pipeline', id),
          Name: req.Name,
          Status: 'Active',
          InputBucket: req.InputBucket,
          ...(req.OutputBucket ? { OutputBucket: req.OutputBucket } : {}),
          Role: req.Role,
          ...(req.AwsKmsKeyArn ? { AwsKmsKeyArn: req.AwsKmsKeyArn } : {}),
          Notifications: { Progressing: '', Completed: '', Warning: '', Error: '', ...req.Notifications },
          ContentConfig: req.ContentConfig ?? bucketConfig(req.OutputBucket),
          ThumbnailConfig: req.ThumbnailConfig ?? bucketConfig(req.OutputBucket),
        };
        await store.savePipeline(pipeline);
        return { status: 201, body: { Pipeline: pipeline, Warnings: [] } };
      },
    },
    {
      method: 'GET',
      path: /^\/pipelines\/?$/,
      operation: 'ListPipelines',
      handle({ query }) {
        const { items, ...rest } = page([...store.pipelines.values()], (p) => p.Id, query);
        return { status: 200, body: { Pipelines: items, ...rest } };
      },
    },
    {
      method: 'GET',
      path: /^\/pipelines\/([^/]+)$/,
      operation: 'ReadPipeline',
      handle({ params }) {
        return { status: 200, body: { Pipeline: pipelineOf(params[0] ?? ''), Warnings: [] } };
      },
    },
    {
      method: 'GET',
      path: /^\/presets\/?$/,
      operation: 'ListPresets',
      handle({ query }) {
        const { items, ...rest } = page(presetList, (p) => p.Id, query);
        return { status: 200, body: { Presets: items, ...rest } };
      },
    },
    {
      method: 'GET',
      path: /^\/presets\/([^/]+)$/,
      operation: 'ReadPreset',
      handle({ params }) {
        const preset = presets.get(checkId('Preset', params[0]));
        if (!preset)
          throw new EtError(
            'ResourceNotFoundException',
            `The specified preset was not found: presetId=${params[0]}.`,
          );
        return { status: 200, body: { Preset: preset } };
      },
    },
    {
      method: 'POST',
      path: /^\/jobs\/?$/,
      operation: 'CreateJob',
      async handle({ body }) {
        const req = parseCreateJob(body);
        resolveJob(req, store.pipelines, presets);
        const id = newId();
        const outputs: JobOutput[] = req.outputs.map((o, i) => ({
          Id: String(i + 1),
          ...o,
          Status: 'Submitted',
          Watermarks: [],
        }));
        const job: Job & { Id: string } = {
          Id: id,
          Arn: arn('job', id),
          PipelineId: req.pipelineId,
          Input: req.input,
          Outputs: outputs,
          OutputKeyPrefix: req.outputKeyPrefix,
          Playlists: req.playlists.map((p) => ({ ...p, Status: 'Submitted' })),
          Status: 'Submitted',
          ...(req.userMetadata ? { UserMetadata: req.userMetadata } : {}),
          Timing: { SubmitTimeMillis: Date.now() },
        };
        await store.saveJob(job);
        // Cloned before the runner starts mutating the record: the response shows the job as submitted.
        const response = structuredClone(view(job));
        runner.enqueue(id);
        return { status: 201, body: { Job: response } };
      },
    },
    {
      method: 'GET',
      path: /^\/jobs\/([^/]+)$/,
      operation: 'ReadJob',
      handle({ params }) {
        return { status: 200, body: { Job: view(jobOf(params[0] ?? '')) } };
      },
    },
    {
      method: 'DELETE',
      path: /^\/jobs\/([^/]+)$/,
      operation: 'CancelJob',
      async handle({ params }) {
        const job = jobOf(params[0] ?? '');
        if (job.Status !== 'Submitted') {
          throw new EtError(
            'ResourceInUseException',
            `The job cannot be canceled because its status is ${job.Status}.`,
          );
        }
        runner.dequeue(job.Id ?? '');
        job.Status = 'Canceled';
        for (const o of job.Outputs ?? []) o.Status = 'Canceled';
        for (const p of job.Playlists ?? []) p.Status = 'Canceled';
        await store.saveJob(job as Job & { Id: string });
        return { status: 202, body: {} };
      },
    },
    {
      method: 'GET',
      path: /^\/jobsByPipeline\/([^/]+)$/,
      operation: 'ListJobsByPipeline',
      handle({ params, query }) {
        const pipeline = pipelineOf(params[0] ?? '');
        const jobs = [...store.jobs.values()].filter((j) => j.PipelineId === pipeline.Id);
        const { items, ...rest } = page(jobs, (j) => j.Id, query);
        return { status: 200, body: { Jobs: items.map(view), ...rest } };
      },
    },
    {
      method: 'GET',
      path: /^\/jobsByStatus\/([^/]+)$/,
      operation: 'ListJobsByStatus',
      handle({ params, query }) {
        const status = params[0] ?? '';
        if (!(JOB_STATUSES as readonly string[]).includes(status)) {
          throw invalid(`Status must be one of ${JOB_STATUSES.join(', ')}.`);
        }
        const jobs = [...store.jobs.values()].filter((j) => j.Status === status);
        const { items, ...rest } = page(jobs, (j) => j.Id, query);
        return { status: 200, body: { Jobs: items.map(view), ...rest } };
      },
    },
  ];

  const guard = createRequestGuard({
    auth: { credentials: { ...opts.credentials }, region },
    services: ['elastictranscoder'],
    protocol: 'rest-json',
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    if (!(await guard.admit(req, res, raw))) return;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.startsWith(`${API}/`) ? url.pathname.slice(API.length) : '';
    let params: string[] = [];
    const route = routes.find((r) => {
      const m = r.method === req.method ? r.path.exec(path) : null;
      if (m) params = m.slice(1).map((p) => decodeURIComponent(p));
      return m !== null;
    });
    if (!route) {
      throw invalid(`${req.method} ${url.pathname} is not supported by the local Elastic Transcoder.`);
    }
    const fault = opts.faults?.decide('transcoder', route.operation);
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    const body = parseJson(raw);
    if (fault === 'throttle' || fault === 'slowdown')
      throw new EtError('LimitExceededException', 'Rate exceeded');
    if (fault === 'internal') throw new EtError('InternalServiceException', 'Internal service error');
    const reply = await route.handle({ params, query: url.searchParams, body });
    send(res, reply.status, reply.body);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof EtError) return sendError(res, e);
      logger.error('local transcoder request failed', { error: e instanceof Error ? e.message : String(e) });
      sendError(res, new EtError('InternalServiceException', 'Internal service error'));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });

  for (const job of store.jobs.values()) {
    if (job.Status === 'Progressing') {
      resetForRerun(job);
      await store.saveJob(job as Job & { Id: string });
    }
    if (job.Status === 'Submitted') runner.enqueue(job.Id ?? '');
  }

  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    ffmpeg,
    onProgress(listener) {
      progressListeners.add(listener);
      return () => progressListeners.delete(listener);
    },
    async stop() {
      const closed = new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
      server.closeAllConnections();
      await closed;
      await runner.stop();
      await store.flush();
      for (const client of [s3, kms, sns]) client.destroy();
    },
  };
}
