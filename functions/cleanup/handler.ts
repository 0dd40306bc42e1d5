import { workflowConfig } from '../../lib/config/workflow.js';
import { CleanupInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { cleanUp } from '../../lib/workflow/clean-up.js';

const transcoder = createTranscoder(workflowConfig());

/** Returns only the report: the ASL stores it at `$.cleanup` and keeps the rest of the state for NotifyFailure. */
export const handler = task({
  name: 'CleanUp',
  input: CleanupInputSchema,
  run: (state) => cleanUp(state, { transcoder }),
});
