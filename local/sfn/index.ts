export {
  type FastOptions,
  LocalStepFunctions,
  type LocalStepFunctionsOptions,
  SfnApiError,
} from './engine.js';
export { type FunctionSpec, loadFunctionCatalog, resolveTaskFunctions } from './functions.js';
export { type SfnServer, type SfnServerOptions, startSfnServer } from './server.js';
export type { ExecutionRecord, ExecutionStatus, HistoryEvent } from './store.js';
