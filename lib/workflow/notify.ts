/**
 * NotifySuccess and NotifyFailure (one Lambda): success or failure is decided by the presence of `$.error`, set by
 * every Catch in the ASL. Publishes one notification to SNS and EventBridge and returns what the ASL stores.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { s3 as defaultS3 } from '../clients.js';
import type { NotifyConfig } from '../config/workflow.js';
import { CaughtErrorSchema, ExecutionRefSchema, JobSchema, SourceRetentionSchema } from '../contracts.js';
import { logger } from '../logger.js';
import { buildNotification, type NotifyState } from '../notifications/contract.js';
import { publishNotification } from '../notifications/publish.js';
import { readVariants } from '../notifications/variants.js';
import type { TranscoderAdapter } from '../transcoder/types.js';

const SuccessInputSchema = z.looseObject({
  source: z.looseObject({ bucket: z.string(), key: z.string() }),
  execution: ExecutionRefSchema,
  job: JobSchema.optional(),
  sourceRetention: SourceRetentionSchema.optional(),
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

export interface NotifyInput {
  state: NotifyState;
  failed: boolean;
}

/**
 * The Notify task input: the success shape, or on the failure path only `$.error`. Which one is decided by the
 * presence of `error`, so a malformed `$.error` is an invalid input rather than a success.
 */
export const NotifyInputSchema = z.unknown().transform((event, ctx): NotifyInput => {
  const record = event && typeof event === 'object' ? (event as Record<string, unknown>) : {};
  const failed = record.error !== undefined;
  const parsed = (failed ? FailureInputSchema : SuccessInputSchema).safeParse(event);
  if (!parsed.success) {
    for (const { message, path } of parsed.error.issues) ctx.addIssue({ code: 'custom', message, path });
    return z.NEVER;
  }
  return failed
    ? { state: failureState(record), failed }
    : { state: record as unknown as NotifyState, failed };
});

export async function notify(
  { state, failed }: NotifyInput,
  deps: {
    transcoder: Pick<TranscoderAdapter, 'read'>;
    config: Pick<
      NotifyConfig,
      'keyServiceUrl' | 'cdnDomain' | 'includeWrappedKey' | 'topicArn' | 'eventBusName' | 'sourceRetention'
    >;
    s3?: S3Client;
  },
): Promise<{ status: string; messageId: string | null }> {
  const { config } = deps;
  if (state.error && state.job && state.job.status !== 'Complete') {
    // The failing poll threw before its result was recorded: read the job's final status for the notification.
    state.job = await deps.transcoder.read(state.job.id).catch(() => state.job);
  }
  const master = state.job?.playlists[0]?.key;
  const bucket = state.asset?.outputBucket ?? state.source?.bucket;
  const variants =
    !failed && master && bucket ? await readVariants(deps.s3 ?? defaultS3, bucket, master) : undefined;
  const notification = buildNotification(state, {
    keyServiceUrl: config.keyServiceUrl,
    cdnDomain: config.cdnDomain,
    includeWrappedKey: config.includeWrappedKey,
    sourceRetention: config.sourceRetention,
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
}
