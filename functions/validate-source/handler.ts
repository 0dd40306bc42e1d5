import { workflowConfig } from '../../lib/config/workflow.js';
import { parseTaskInput, ValidateSourceInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { validateSource } from '../../lib/workflow/validate-source.js';

const config = workflowConfig();

export const handler = task('ValidateSource', async (event: unknown) => {
  const state = parseTaskInput(ValidateSourceInputSchema, event, 'ValidateSource');
  const { source, asset } = await validateSource(state, config);
  return { ...state, source, asset };
});
