import { workflowConfig } from '../../lib/config/workflow.js';
import { EncryptSourceInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { encryptSource } from '../../lib/workflow/encrypt-source.js';

const config = workflowConfig();

export const handler = task({
  name: 'EncryptSource',
  input: EncryptSourceInputSchema,
  run: (state, context) =>
    encryptSource(state, { config, remainingMs: () => context.getRemainingTimeInMillis() }),
});
