/**
 * The local Lambda runtime: the function catalog read from serverless.yml (`function-catalog.ts`), invocation as
 * the Node.js runtime does it (`invoke.ts`), and the SQS event source mapping that feeds a function from a queue
 * (`sqs-poller.ts`).
 */
export { type FunctionCatalog, type FunctionSpec, loadFunctionCatalog } from './function-catalog.js';
export {
  createLambdaInvoker,
  type HandlerFn,
  type Invocation,
  LambdaCrashError,
  LambdaFunctionError,
  type LambdaInvoker,
  type LambdaInvokerOptions,
  LambdaTimeoutError,
  lambdaContext,
} from './invoke.js';
export { type BatchReport, type SqsPoller, type SqsPollerOptions, startSqsPoller } from './sqs-poller.js';
