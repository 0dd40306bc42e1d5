import { z } from 'zod';
import { s3 } from '../../lib/clients.js';
import { notifyConfig, workflowConfig } from '../../lib/config.js';
import { CaughtErrorSchema, ExecutionRefSchema, JobSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { logger } from '../../lib/logger.js';
import { buildNotification, type NotifyState } from '../../lib/notifications/contract.js';
import { publishNotification } from '../../lib/notifications/publish.js';
import { readVariants } from '../../lib/notifications/variants.js';
import { createTranscoder } from '../../lib/transcoder/index.js';

const config = notifyConfig();
const transcoder = createTranscoder(workflowConfig());

const SuccessInputSchema = z.looseObject({
  source: z.looseObject({ bucket: z.string(), key: z.string() }),
  execution: ExecutionRefSchema,
  job: JobSchema.optional(),
});

/**
 * The failure path must notify whatever it was given — including an execution started by hand with an input the
 * workflow cannot parse — so only `$.error` is required; every other field is used when it has the right shape
 * and left out otherwise. A validation error here would be permanent, and the ASL does not retry it.
 */
const FailureInputSchema = z.looseObject({ error: CaughtErrorSchema });

function usable<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> | undefined {
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function failureState(event: Record<string, unknown>): NotifyState {
  const source = usable(
    z.looseObject({ bucket: z.string().optional(), key: z.string().optional() }),
    event.source,
  );
  return {
    ...(event as Partial<NotifyState>),
    source: source ?? {},
    execution: usable(ExecutionRefSchema, event.execution) ?? { name: 'unknown', arn: 'unknown' },
    ...(usable(JobSchema, event.job) ? { job: usable(JobSchema, event.job) } : { job: undefined }),
    failedStep: typeof event.failedStep === 'string' ? event.failedStep : undefined,
    error: CaughtErrorSchema.parse(event.error),
  } as NotifyState;
}

/** Success or failure, decided by the presence of `$.error` (set by every Catch in the ASL). */
export const handler = task('Notify', async (event: unknown) => {
  const record = event && typeof event === 'object' ? (event as Record<string, unknown>) : {};
  const failed = record.error !== undefined;
  let state: NotifyState;
  if (failed) {
    parseTaskInput(FailureInputSchema, record, 'Notify');
    state = failureState(record);
  } else {
    parseTaskInput(SuccessInputSchema, record, 'Notify');
    state = record as unknown as NotifyState;
  }
  if (state.error && state.job && state.job.status !== 'Complete') {
    // The failing poll threw before its result was recorded: read the job's final status for the notification.
    state.job = await transcoder.read(state.job.id).catch(() => state.job);
  }
  const master = state.job?.playlists[0]?.key;
  const bucket = state.asset?.outputBucket ?? state.source?.bucket;
  const variants = !failed && master && bucket ? await readVariants(s3, bucket, master) : undefined;
  const notification = buildNotification(state, {
    keyServiceUrl: config.keyServiceUrl,
    cdnDomain: config.cdnDomain,
    includeWrappedKey: config.includeWrappedKey,
    ...(variants ? { variants } : {}),
  });
  const { messageId } = await publishNotification(notification, config);
  logger.info('notification published', {
    status: notification.status,
    execution: notification.execution.name,
    errorCode: notification.error?.code,
    messageId,
  });
  return { status: notification.status, messageId: messageId ?? null };
});
