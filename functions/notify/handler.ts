import { notifyConfig, workflowConfig } from '../../lib/config/workflow.js';
import { task } from '../../lib/handler.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { NotifyInputSchema, notify } from '../../lib/workflow/notify.js';

const config = notifyConfig();
const transcoder = createTranscoder(workflowConfig());

export const handler = task({
  name: 'Notify',
  input: NotifyInputSchema,
  run: (input) => notify(input, { transcoder, config }),
});
