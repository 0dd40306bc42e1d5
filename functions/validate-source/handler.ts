import { workflowConfig } from '../../lib/config/workflow.js';
import { ValidateSourceInputSchema } from '../../lib/contracts.js';
import { task } from '../../lib/handler.js';
import { validateSource } from '../../lib/workflow/validate-source.js';

const config = workflowConfig();

export const handler = task({
  name: 'ValidateSource',
  input: ValidateSourceInputSchema,
  run: async (state) => ({ ...state, ...(await validateSource(state, config)) }),
});
