import type { Context } from 'aws-lambda';
import { workflowConfig } from '../../lib/config/workflow.js';
import { EncryptSourceInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { encryptSource } from '../../lib/workflow/encrypt-source.js';

const config = workflowConfig();

export const handler = task('EncryptSource', async (event: unknown, context: Context) => {
  const state = parseTaskInput(EncryptSourceInputSchema, event, 'EncryptSource');
  return encryptSource(state, { config, remainingMs: () => context.getRemainingTimeInMillis() });
});
