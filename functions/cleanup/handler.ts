import { z } from 'zod';
import { workflowConfig } from '../../lib/config/workflow.js';
import {
  AssetSchema,
  CheckpointSchema,
  EncryptedObjectSchema,
  JobSchema,
  parseTaskInput,
} from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { logger } from '../../lib/logger.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { cleanUp } from '../../lib/workflow/clean-up.js';

const transcoder = createTranscoder(workflowConfig());

const CleanupInputSchema = z.looseObject({
  asset: AssetSchema.optional(),
  encrypt: CheckpointSchema.optional(),
  encrypted: EncryptedObjectSchema.optional(),
  job: JobSchema.optional(),
});

/** Returns only the report: the ASL stores it at `$.cleanup` and keeps the rest of the state for NotifyFailure. */
export const handler = task('CleanUp', async (event: unknown) => {
  const state = parseTaskInput(CleanupInputSchema, event, 'CleanUp');
  const report = await cleanUp(state, { transcoder });
  logger.info('cleaned up after failure', { ...report, assetId: state.asset?.assetId });
  return report;
});
