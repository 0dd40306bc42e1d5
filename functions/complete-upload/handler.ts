import { CompleteUploadInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { completeUpload } from '../../lib/workflow/complete-upload.js';

export const handler = task({
  name: 'CompleteUpload',
  input: CompleteUploadInputSchema,
  run: (state) => completeUpload(state),
});
