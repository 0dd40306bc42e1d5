import { workflowConfig } from '../../lib/config/workflow.js';
import { GenerateKeysInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { getProfile, loadProfiles } from '../../lib/profiles.js';
import { generateKeys } from '../../lib/workflow/generate-keys.js';

const config = workflowConfig();
const profiles = loadProfiles(config.profilesJson);

export const handler = task('GenerateKeys', async (event: unknown) => {
  const state = parseTaskInput(GenerateKeysInputSchema, event, 'GenerateKeys');
  const { keys, encryption } = await generateKeys(
    getProfile(state.profile, profiles),
    { kmsKeyId: config.kmsKeyId, playbackKmsKeyId: config.playbackKmsKeyId },
    state.asset.assetId,
  );
  return { ...state, keys, encryption };
});
