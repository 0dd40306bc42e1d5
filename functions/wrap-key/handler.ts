import { workflowConfig } from '../../lib/config.js';
import { parseTaskInput, WrapKeyInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { wrapKeyForTranscoder } from '../../lib/workflow/wrap.js';

const config = workflowConfig();

export const handler = task('WrapKey', async (event: unknown) => {
  const state = parseTaskInput(WrapKeyInputSchema, event, 'WrapKey');
  const transcoderKey = await wrapKeyForTranscoder(state.keys, {
    kmsKeyId: config.transcoderKmsKeyId,
    encryptionContext: config.transcoderEncryptionContext,
  });
  return { ...state, transcoderKey };
});
