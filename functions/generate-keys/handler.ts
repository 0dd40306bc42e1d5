import { workflowConfig } from '../../lib/config/workflow.js';
import { GenerateKeysInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { getProfile, loadProfiles } from '../../lib/profiles.js';
import { generateKeys } from '../../lib/workflow/generate-keys.js';

const config = workflowConfig();
const profiles = loadProfiles(config.profilesJson);
const keyIds = { kmsKeyId: config.kmsKeyId, playbackKmsKeyId: config.playbackKmsKeyId };

export const handler = task({
  name: 'GenerateKeys',
  input: GenerateKeysInputSchema,
  run: async (state) => ({
    ...state,
    ...(await generateKeys(getProfile(state.profile, profiles), keyIds, state.asset.assetId)),
  }),
});
