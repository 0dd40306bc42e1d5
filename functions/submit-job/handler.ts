import { workflowConfig } from '../../lib/config.js';
import { SubmitJobInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { getProfile, loadProfiles } from '../../lib/profiles.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { submitJob } from '../../lib/workflow/submit.js';

const config = workflowConfig();
const profiles = loadProfiles(process.env.PROFILES_JSON);
const transcoder = createTranscoder(config);

export const handler = task('SubmitJob', async (event: unknown) => {
  const state = parseTaskInput(SubmitJobInputSchema, event, 'SubmitJob');
  const { job, poll } = await submitJob({ ...state, profile: getProfile(state.profile, profiles) }, { transcoder, config });
  return { ...state, job, poll };
});
