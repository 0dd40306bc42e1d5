import { workflowConfig } from '../../lib/config/workflow.js';
import { PollJobInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { pollJob } from '../../lib/workflow/poll-job.js';

const config = workflowConfig();
const transcoder = createTranscoder(config);

export const handler = task({
  name: 'PollJob',
  input: PollJobInputSchema,
  run: async (state) => ({ ...state, ...(await pollJob(state, { transcoder, config })) }),
});
