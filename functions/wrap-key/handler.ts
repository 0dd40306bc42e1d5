import { workflowConfig } from '../../lib/config/workflow.js';
import { WrapKeyInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { wrapKey } from '../../lib/workflow/wrap-key.js';

const config = workflowConfig();
const target = { kmsKeyId: config.transcoderKmsKeyId, encryptionContext: config.transcoderEncryptionContext };

export const handler = task({
  name: 'WrapKey',
  input: WrapKeyInputSchema,
  run: async (state) => ({ ...state, ...(await wrapKey(state.keys, target)) }),
});
