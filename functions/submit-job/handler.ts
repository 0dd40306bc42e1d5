import { workflowConfig } from '../../lib/config/workflow.js';
import { SubmitJobInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { loadProfiles } from '../../lib/profiles.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { submitJobState } from '../../lib/workflow/submit-job.js';

const config = workflowConfig();
const profiles = loadProfiles(config.profilesJson);
const transcoder = createTranscoder(config);

export const handler = task({
  name: 'SubmitJob',
  input: SubmitJobInputSchema,
  run: (state) => submitJobState(state, { transcoder, config, profiles }),
});
