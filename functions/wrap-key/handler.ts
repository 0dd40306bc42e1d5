import { workflowConfig } from '../../lib/config.js';
import { parseTaskInput, WrapKeyInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { wrapKeyForTranscoder, wrapPlaybackKeyForTranscoder } from '../../lib/workflow/wrap.js';

const config = workflowConfig();

export const handler = task('WrapKey', async (event: unknown) => {
  const state = parseTaskInput(WrapKeyInputSchema, event, 'WrapKey');
  const target = {
    kmsKeyId: config.transcoderKmsKeyId,
    encryptionContext: config.transcoderEncryptionContext,
  };
  const transcoderKey = await wrapKeyForTranscoder(state.keys, target);
  const transcoderPlaybackKey = await wrapPlaybackKeyForTranscoder(state.keys, target);
  return { ...state, transcoderKey, transcoderPlaybackKey };
});
