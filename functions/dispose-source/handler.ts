import { sourceRetentionConfig } from '../../lib/config/workflow.js';
import { DisposeSourceInputSchema, parseTaskInput } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { disposeSource } from '../../lib/workflow/dispose-source.js';

const { policy } = sourceRetentionConfig();

export const handler = task('DisposeSource', async (event: unknown) => {
  const state = parseTaskInput(DisposeSourceInputSchema, event, 'DisposeSource');
  return disposeSource(state, { policy });
});
