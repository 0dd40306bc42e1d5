import { z } from 'zod';
import { notifyConfig, workflowConfig } from '../../lib/config.js';
import { ExecutionRefSchema, JobSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { logger } from '../../lib/logger.js';
import { buildNotification, type NotifyState } from '../../lib/notifications/contract.js';
import { publishNotification } from '../../lib/notifications/publish.js';
import { createTranscoder } from '../../lib/transcoder/index.js';

const config = notifyConfig();
const transcoder = createTranscoder(workflowConfig());

const NotifyInputSchema = z.looseObject({
  source: z.looseObject({ bucket: z.string(), key: z.string() }),
  execution: ExecutionRefSchema,
  job: JobSchema.optional(),
});

/** Success or failure, decided by the presence of `$.error` (set by every Catch in the ASL). */
export const handler = task('Notify', async (event: unknown) => {
  parseTaskInput(NotifyInputSchema, event, 'Notify');
  const state = event as NotifyState;
  if (state.error && state.job && state.job.status !== 'Complete') {
    // The failing poll threw before its result was recorded: read the job's final status for the notification.
    state.job = await transcoder.read(state.job.id).catch(() => state.job);
  }
  const notification = buildNotification(state, config.keyServiceUrl);
  const { messageId } = await publishNotification(notification, config);
  logger.info('notification published', {
    status: notification.status,
    execution: notification.execution.name,
    errorCode: notification.error?.code,
    messageId,
  });
  return { status: notification.status, messageId: messageId ?? null };
});
