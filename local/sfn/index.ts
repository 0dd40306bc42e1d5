export {
  type FastOptions,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
  SfnApiError,
} from './engine.js';
export { type SfnServer, type SfnServerOptions, startSfnServer } from './server.js';
export { type ExecutionRecord, type ExecutionStatus, ExecutionStore, type HistoryEvent } from './store.js';
export { type ExecutionSummary, summarizeExecution } from './summary.js';
