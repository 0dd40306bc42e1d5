import { sourceRetentionConfig } from '../../lib/config/workflow.js';
import { DisposeSourceInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { disposeSource } from '../../lib/workflow/dispose-source.js';

const { policy } = sourceRetentionConfig();

export const handler = task({
  name: 'DisposeSource',
  input: DisposeSourceInputSchema,
  run: (state) => disposeSource(state, { policy }),
});
