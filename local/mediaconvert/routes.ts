/**
 * The local MediaConvert's operations, one named function each over a `MediaConvertContext`, and the route table
 * that maps the REST-JSON paths (under `/2017-08-29`) to them. `server.ts` reads, guards and dispatches.
 */
import type { Reply, Route, RouteRequest } from '../http/index.js';
import { badRequest, McError } from './errors.js';
import type { JobRunner } from './runner.js';
import { type JobStore, newJobId } from './store.js';
import { type JobPlan, parseCreateJob, type WireJob } from './wire.js';

/** What the operations work over: the stored jobs, their plans, the runner, and the account's default queue. */
export interface MediaConvertContext {
  store: JobStore;
  plans: Map<string, JobPlan>;
  runner: JobRunner;
  region: string;
  defaultQueue: string;
}

export const ACCOUNT_ID = '000000000000';
/** The same token within this window returns the first job (ClientRequestToken semantics). */
const TOKEN_WINDOW_SECONDS = 60;
const STATUSES = new Set(['SUBMITTED', 'PROGRESSING', 'COMPLETE', 'CANCELED', 'ERROR']);

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

function jobOf(ctx: MediaConvertContext, id: string): WireJob {
  const job = ctx.store.jobs.get(id);
  if (!job) throw new McError('NotFoundException', `The job ${id} could not be found.`);
  return job;
}

/** CreateJob; a repeated ClientRequestToken within the window returns the first job. */
async function createJob(ctx: MediaConvertContext, { body }: RouteRequest): Promise<Reply> {
  const { request, plan } = parseCreateJob(body);
  const now = Math.floor(Date.now() / 1000);
  if (request.clientRequestToken) {
    const earlier = [...ctx.store.jobs.values()].find(
      (j) => j.clientRequestToken === request.clientRequestToken && now - j.createdAt <= TOKEN_WINDOW_SECONDS,
    );
    if (earlier) return { status: 201, body: { job: earlier } };
  }
  const id = newJobId();
  const queue = request.queue
    ? request.queue.startsWith('arn:')
      ? request.queue
      : `arn:aws:mediaconvert:${ctx.region}:${ACCOUNT_ID}:queues/${request.queue}`
    : ctx.defaultQueue;
  const job: WireJob = {
    id,
    arn: `arn:aws:mediaconvert:${ctx.region}:${ACCOUNT_ID}:jobs/${id}`,
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
  ctx.plans.set(id, plan);
  await ctx.store.save(job);
  const response = structuredClone(job);
  ctx.runner.enqueue(id);
  return { status: 201, body: { job: response } };
}

function getJob(ctx: MediaConvertContext, { params }: RouteRequest): Reply {
  return { status: 200, body: { job: jobOf(ctx, params[0] ?? '') } };
}

/** CancelJob: a queued job ends at once; a running one when its ffmpeg has stopped. */
async function cancelJob(ctx: MediaConvertContext, { params }: RouteRequest): Promise<Reply> {
  const id = params[0] ?? '';
  const job = jobOf(ctx, id);
  if (job.status !== 'SUBMITTED' && job.status !== 'PROGRESSING') {
    throw new McError('ConflictException', `The job ${id} cannot be canceled in status ${job.status}.`);
  }
  const wasRunning = job.status === 'PROGRESSING';
  ctx.runner.cancel(id);
  if (!wasRunning) {
    job.status = 'CANCELED';
    job.timing.finishTime = Math.floor(Date.now() / 1000);
    await ctx.store.save(job);
    await ctx.runner.emit(job);
  }
  return { status: 202, body: {} };
}

function listJobs(ctx: MediaConvertContext, { query }: RouteRequest): Reply {
  return { status: 200, body: page([...ctx.store.jobs.values()], query) };
}

/** SearchJobs: the jobs whose input file names contain `inputFile`. */
function searchJobs(ctx: MediaConvertContext, { query }: RouteRequest): Reply {
  const wanted = query.get('inputFile');
  const jobs = [...ctx.store.jobs.values()].filter((j) => {
    const inputs = (j.settings as { inputs?: Array<{ fileInput?: string }> }).inputs ?? [];
    return wanted === null || inputs.some((i) => i.fileInput?.includes(wanted));
  });
  return { status: 200, body: page(jobs, query) };
}

export const ROUTES: Route<MediaConvertContext>[] = [
  { method: 'POST', path: /^\/jobs$/, operation: 'CreateJob', handle: createJob },
  { method: 'GET', path: /^\/jobs$/, operation: 'ListJobs', handle: listJobs },
  { method: 'GET', path: /^\/search$/, operation: 'SearchJobs', handle: searchJobs },
  { method: 'GET', path: /^\/jobs\/([^/]+)$/, operation: 'GetJob', handle: getJob },
  { method: 'DELETE', path: /^\/jobs\/([^/]+)$/, operation: 'CancelJob', handle: cancelJob },
];
