import { workflowConfig } from '../../lib/config/workflow.js';
import { parseTaskInput, SubmitJobInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { getProfile, loadProfiles } from '../../lib/profiles.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { submitJob } from '../../lib/workflow/submit-job.js';

const config = workflowConfig();
const profiles = loadProfiles(config.profilesJson);
const transcoder = createTranscoder(config);

export const handler = task('SubmitJob', async (event: unknown) => {
  const state = parseTaskInput(SubmitJobInputSchema, event, 'SubmitJob');
  const { job, poll, submitAttempt } = await submitJob(
    { ...state, profile: getProfile(state.profile, profiles) },
    { transcoder, config },
  );
  // The caught internal error is consumed by the resubmission; what remains is the count.
  const { transcoderError: _consumed, ...rest } = state;
  return { ...rest, job, poll, submitAttempt };
});
