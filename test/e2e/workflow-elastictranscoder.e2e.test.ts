/** The whole-workflow suite of workflow.e2e.test.ts on the Elastic Transcoder backend (its own process, own stack). */
import { describeWorkflow } from '../support/workflow-suite.js';

describeWorkflow('elastictranscoder');
