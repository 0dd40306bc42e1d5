import { workflowConfig } from '../../lib/config/workflow.js';
import { parseTaskInput, WrapKeyInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { wrapKey } from '../../lib/workflow/wrap-key.js';

const config = workflowConfig();
const target = { kmsKeyId: config.transcoderKmsKeyId, encryptionContext: config.transcoderEncryptionContext };

export const handler = task('WrapKey', async (event: unknown) => {
  const state = parseTaskInput(WrapKeyInputSchema, event, 'WrapKey');
  return { ...state, ...(await wrapKey(state.keys, target)) };
});
