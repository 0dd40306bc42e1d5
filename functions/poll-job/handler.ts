import { workflowConfig } from '../../lib/config/workflow.js';
import { PollJobInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { pollJob } from '../../lib/workflow/poll-job.js';

const config = workflowConfig();
const transcoder = createTranscoder(config);

export const handler = task('PollJob', async (event: unknown) => {
  const state = parseTaskInput(PollJobInputSchema, event, 'PollJob');
  const { job, poll } = await pollJob(state, { transcoder, config });
  return { ...state, job, poll };
});
