import { CompleteUploadInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { completeUpload } from '../../lib/workflow/complete-upload.js';

export const handler = task('CompleteUpload', async (event: unknown) => {
  const state = parseTaskInput(CompleteUploadInputSchema, event, 'CompleteUpload');
  return completeUpload(state);
});
