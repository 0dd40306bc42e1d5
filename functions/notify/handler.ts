import { notifyConfig, workflowConfig } from '../../lib/config/workflow.js';
import { task } from '../../lib/handler.js';
import { createTranscoder } from '../../lib/transcoder/index.js';
import { notify, parseNotifyInput } from '../../lib/workflow/notify.js';

const config = notifyConfig();
const transcoder = createTranscoder(workflowConfig());

export const handler = task('Notify', async (event: unknown) =>
  notify(parseNotifyInput(event), { transcoder, config }),
);
