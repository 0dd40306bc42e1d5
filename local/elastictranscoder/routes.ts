/**
 * The local Elastic Transcoder's operations, one named function each over a `TranscoderContext`, and the route
 * table that maps the REST-JSON paths (under `/2012-09-25`) to them. `server.ts` reads, guards and dispatches.
 */
import type { Job, JobOutput, Pipeline, Preset } from '@aws-sdk/client-elastic-transcoder';
import type { Reply, Route, RouteRequest } from '../http/index.js';
import { EtError, invalid } from './errors.js';
import type { JobRunner } from './runner.js';
import { newId, type TranscoderStore } from './store.js';
import { ID_PATTERN, JOB_STATUSES, parseCreateJob, parseCreatePipeline, resolveJob } from './validate.js';

/** What the operations work over: the stored pipelines and jobs, the system presets, the job runner. */
export interface TranscoderContext {
  store: TranscoderStore;
  presets: Map<string, Preset>;
  presetList: Preset[];
  runner: JobRunner;
  arn(kind: string, id: string): string;
}

const PAGE_SIZE = 50;

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

function pipelineOf(ctx: TranscoderContext, id: string): Pipeline {
  const p = ctx.store.pipelines.get(checkId('Pipeline', id));
  if (!p)
    throw new EtError('ResourceNotFoundException', `The specified pipeline was not found: pipelineId=${id}.`);
  return p;
}

function jobOf(ctx: TranscoderContext, id: string): Job {
  const j = ctx.store.jobs.get(checkId('Job', id));
  if (!j) throw new EtError('ResourceNotFoundException', `The specified job was not found: jobId=${id}.`);
  return j;
}

async function createPipeline(ctx: TranscoderContext, { body }: RouteRequest): Promise<Reply> {
  const req = parseCreatePipeline(body);
  const id = newId();
  const bucketConfig = (bucket: string | undefined) => ({
    Bucket: bucket,
    StorageClass: 'Standard',
    Permissions: [],
  });
  const pipeline: Pipeline & { Id: string } = {
    Id: id,
    Arn: ctx.arn('pipeline', id),
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
  await ctx.store.savePipeline(pipeline);
  return { status: 201, body: { Pipeline: pipeline, Warnings: [] } };
}

function listPipelines(ctx: TranscoderContext, { query }: RouteRequest): Reply {
  const { items, ...rest } = page([...ctx.store.pipelines.values()], (p) => p.Id, query);
  return { status: 200, body: { Pipelines: items, ...rest } };
}

function readPipeline(ctx: TranscoderContext, { params }: RouteRequest): Reply {
  return { status: 200, body: { Pipeline: pipelineOf(ctx, params[0] ?? ''), Warnings: [] } };
}

function listPresets(ctx: TranscoderContext, { query }: RouteRequest): Reply {
  const { items, ...rest } = page(ctx.presetList, (p) => p.Id, query);
  return { status: 200, body: { Presets: items, ...rest } };
}

function readPreset(ctx: TranscoderContext, { params }: RouteRequest): Reply {
  const preset = ctx.presets.get(checkId('Preset', params[0]));
  if (!preset)
    throw new EtError(
      'ResourceNotFoundException',
      `The specified preset was not found: presetId=${params[0]}.`,
    );
  return { status: 200, body: { Preset: preset } };
}

async function createJob(ctx: TranscoderContext, { body }: RouteRequest): Promise<Reply> {
  const req = parseCreateJob(body);
  resolveJob(req, ctx.store.pipelines, ctx.presets);
  const id = newId();
  const outputs: JobOutput[] = req.outputs.map((o, i) => ({
    Id: String(i + 1),
    ...o,
    Status: 'Submitted',
    Watermarks: [],
  }));
  const job: Job & { Id: string } = {
    Id: id,
    Arn: ctx.arn('job', id),
    PipelineId: req.pipelineId,
    Input: req.input,
    Outputs: outputs,
    OutputKeyPrefix: req.outputKeyPrefix,
    Playlists: req.playlists.map((p) => ({ ...p, Status: 'Submitted' })),
    Status: 'Submitted',
    ...(req.userMetadata ? { UserMetadata: req.userMetadata } : {}),
    Timing: { SubmitTimeMillis: Date.now() },
  };
  await ctx.store.saveJob(job);
  // Cloned before the runner starts mutating the record: the response shows the job as submitted.
  const response = structuredClone(view(job));
  ctx.runner.enqueue(id);
  return { status: 201, body: { Job: response } };
}

function readJob(ctx: TranscoderContext, { params }: RouteRequest): Reply {
  return { status: 200, body: { Job: view(jobOf(ctx, params[0] ?? '')) } };
}

async function cancelJob(ctx: TranscoderContext, { params }: RouteRequest): Promise<Reply> {
  const job = jobOf(ctx, params[0] ?? '');
  if (job.Status !== 'Submitted') {
    throw new EtError(
      'ResourceInUseException',
      `The job cannot be canceled because its status is ${job.Status}.`,
    );
  }
  ctx.runner.dequeue(job.Id ?? '');
  job.Status = 'Canceled';
  for (const o of job.Outputs ?? []) o.Status = 'Canceled';
  for (const p of job.Playlists ?? []) p.Status = 'Canceled';
  await ctx.store.saveJob(job as Job & { Id: string });
  return { status: 202, body: {} };
}

function listJobsByPipeline(ctx: TranscoderContext, { params, query }: RouteRequest): Reply {
  const pipeline = pipelineOf(ctx, params[0] ?? '');
  const jobs = [...ctx.store.jobs.values()].filter((j) => j.PipelineId === pipeline.Id);
  const { items, ...rest } = page(jobs, (j) => j.Id, query);
  return { status: 200, body: { Jobs: items.map(view), ...rest } };
}

function listJobsByStatus(ctx: TranscoderContext, { params, query }: RouteRequest): Reply {
  const status = params[0] ?? '';
  if (!(JOB_STATUSES as readonly string[]).includes(status)) {
    throw invalid(`Status must be one of ${JOB_STATUSES.join(', ')}.`);
  }
  const jobs = [...ctx.store.jobs.values()].filter((j) => j.Status === status);
  const { items, ...rest } = page(jobs, (j) => j.Id, query);
  return { status: 200, body: { Jobs: items.map(view), ...rest } };
}

/** The service model's routes this project uses, under `/2012-09-25`. */
export const ROUTES: Route<TranscoderContext>[] = [
  { method: 'POST', path: /^\/pipelines\/?$/, operation: 'CreatePipeline', handle: createPipeline },
  { method: 'GET', path: /^\/pipelines\/?$/, operation: 'ListPipelines', handle: listPipelines },
  { method: 'GET', path: /^\/pipelines\/([^/]+)$/, operation: 'ReadPipeline', handle: readPipeline },
  { method: 'GET', path: /^\/presets\/?$/, operation: 'ListPresets', handle: listPresets },
  { method: 'GET', path: /^\/presets\/([^/]+)$/, operation: 'ReadPreset', handle: readPreset },
  { method: 'POST', path: /^\/jobs\/?$/, operation: 'CreateJob', handle: createJob },
  { method: 'GET', path: /^\/jobs\/([^/]+)$/, operation: 'ReadJob', handle: readJob },
  { method: 'DELETE', path: /^\/jobs\/([^/]+)$/, operation: 'CancelJob', handle: cancelJob },
  {
    method: 'GET',
    path: /^\/jobsByPipeline\/([^/]+)$/,
    operation: 'ListJobsByPipeline',
    handle: listJobsByPipeline,
  },
  {
    method: 'GET',
    path: /^\/jobsByStatus\/([^/]+)$/,
    operation: 'ListJobsByStatus',
    handle: listJobsByStatus,
  },
];
