/**
 * Calls a handler module the way the Lambda Node.js runtime does: the event and the result cross a JSON boundary,
 * the context carries a deadline from the function's configured timeout, and a handler that outlives it fails with
 * the runtime's "Task timed out" error (its promise keeps running in this process — there is no sandbox to freeze).
 *
 * With a fault injector, `decide('lambda', <function key>)` → `crash` kills an invocation part-way: the
 * caller gets the runtime's exit error `crashAfterMs` after the handler started, or when it settles if sooner (the
 * sandbox died before the response left it), and the handler's context reports no time left from then on, so a
 * handler that checks it before each unit of work (EncryptSource, before each part) stops as a killed one would.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { FaultInjector } from '../faults.js';
import type { FunctionSpec } from './function-catalog.js';

export type HandlerFn = (event: unknown, context: Context) => Promise<unknown>;

export interface LambdaInvokerOptions {
  region: string;
  accountId?: string;
  /** Prefix of the function names the context reports, like the deployed `<service>-<stage>-`. */
  functionNamePrefix?: string;
  /** Asked once per invocation: `decide('lambda', spec.key)`; only `crash` applies. */
  faults?: FaultInjector;
  /** How long a crashing invocation runs before it dies (default 300 ms: past its first S3 calls, short of the end). */
  crashAfterMs?: number;
}

/** A handler threw: the runtime's error payload (`errorType`, `errorMessage`, `trace`). */
export class LambdaFunctionError extends Error {
  readonly errorType: string;
  readonly payload: { errorType: string; errorMessage: string; trace: string[] };
  constructor(errorType: string, errorMessage: string, trace: string[]) {
    super(errorMessage);
    this.name = 'LambdaFunctionError';
    this.errorType = errorType;
    this.payload = { errorType, errorMessage, trace };
  }
}

/** The handler ran past `timeout`: the runtime reports it without an error type. */
export class LambdaTimeoutError extends Error {
  readonly timeoutSeconds: number;
  constructor(requestId: string, timeoutSeconds: number) {
    super(`RequestId: ${requestId} Error: Task timed out after ${timeoutSeconds.toFixed(2)} seconds`);
    this.name = 'LambdaTimeoutError';
    this.timeoutSeconds = timeoutSeconds;
  }
}

/** The sandbox died mid-invocation (killed, out of memory): the runtime reports an exit, not a handler error. */
export class LambdaCrashError extends Error {
  readonly errorType = 'Runtime.ExitError';
  constructor(requestId: string) {
    super(`RequestId: ${requestId} Error: Runtime exited with error: signal: killed`);
    this.name = 'LambdaCrashError';
  }
}

const DEFAULT_CRASH_AFTER_MS = 300;

const handlerCache = new Map<string, Promise<HandlerFn>>();

async function loadHandler(spec: FunctionSpec): Promise<HandlerFn> {
  const file = spec.file;
  const cacheKey = `${file}#${spec.exportName}`;
  let loaded = handlerCache.get(cacheKey);
  if (!loaded) {
    // A file URL works under both tsx and Node; jest's ESM loader resolves it as well.
    loaded = import(pathToFileURL(file).href).then((mod: Record<string, unknown>) => {
      const fn = mod[spec.exportName];
      if (typeof fn !== 'function')
        throw new Error(`${file} does not export a function named ${spec.exportName}`);
      return fn as HandlerFn;
    });
    loaded.catch(() => handlerCache.delete(cacheKey));
    handlerCache.set(cacheKey, loaded);
  }
  return loaded;
}

function toJson(value: unknown): unknown {
  // Lambda serialises both ways; `undefined` comes back as `null`, class instances as plain objects.
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function errorPayload(e: unknown): LambdaFunctionError {
  if (e instanceof Error) {
    const trace = (e.stack ?? '').split('\n').map((l) => l.trim());
    return new LambdaFunctionError(e.name || 'Error', e.message, trace);
  }
  return new LambdaFunctionError('Error', typeof e === 'string' ? e : JSON.stringify(e), []);
}

export interface Invocation {
  requestId: string;
  functionName: string;
  result: Promise<unknown>;
}

/** The context Lambda gives an invocation: what the handlers and Powertools' logger read from it. */
export function lambdaContext(fn: {
  functionName: string;
  region: string;
  accountId?: string;
  memoryMb?: number;
  requestId?: string;
  deadline?: () => number;
}): Context {
  const requestId = fn.requestId ?? randomUUID();
  const { functionName } = fn;
  const deadline = fn.deadline ?? (() => Date.now() + 30_000);
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${fn.accountId ?? '000000000000'}:function:${functionName}`,
    memoryLimitInMB: String(fn.memoryMb ?? 256),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${requestId.replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline() - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function createLambdaInvoker(options: LambdaInvokerOptions) {
  const accountId = options.accountId ?? '000000000000';
  const prefix = options.functionNamePrefix ?? 'secure-transcode-local-';

  function context(spec: FunctionSpec, requestId: string, deadline: () => number): Context {
    return lambdaContext({
      functionName: `${prefix}${spec.key}`,
      region: options.region,
      accountId,
      memoryMb: spec.memoryMb,
      requestId,
      deadline,
    });
  }

  /** Never resolves with the handler's answer: it dies after `crashAfterMs`, or as soon as the handler settles. */
  async function crashed(run: Promise<unknown>, requestId: string, kill: () => void): Promise<never> {
    let timer: NodeJS.Timeout | undefined;
    const afterMs = options.crashAfterMs ?? DEFAULT_CRASH_AFTER_MS;
    await Promise.race([
      run.then(
        () => undefined,
        () => undefined,
      ),
      new Promise<void>((r) => {
        timer = setTimeout(r, afterMs);
      }),
    ]);
    clearTimeout(timer);
    kill();
    throw new LambdaCrashError(requestId);
  }

  /**
   * Starts one invocation. `result` resolves to the JSON result or rejects with LambdaFunctionError,
   * LambdaTimeoutError or LambdaCrashError.
   */
  function invoke(spec: FunctionSpec, event: unknown): Invocation {
    const requestId = randomUUID();
    const functionName = `${prefix}${spec.key}`;
    const crash = options.faults?.decide('lambda', spec.key) === 'crash';
    const result = (async () => {
      const handler = await loadHandler(spec).catch((e: unknown) => {
        const err = e as Error;
        throw new LambdaFunctionError('Runtime.ImportModuleError', `Error: ${err?.message ?? String(e)}`, []);
      });
      let deadline = Date.now() + spec.timeoutSeconds * 1000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new LambdaTimeoutError(requestId, spec.timeoutSeconds)),
          deadline - Date.now(),
        );
      });
      const ctx = context(spec, requestId, () => deadline);
      try {
        const run = Promise.resolve().then(() => handler(toJson(event), ctx));
        if (crash)
          return await crashed(run, requestId, () => {
            deadline = Date.now();
          });
        return toJson(
          await Promise.race([run.catch((e: unknown) => Promise.reject(errorPayload(e))), timedOut]),
        );
      } finally {
        clearTimeout(timer);
      }
    })();
    return { requestId, functionName, result };
  }

  return { invoke };
}

export type LambdaInvoker = ReturnType<typeof createLambdaInvoker>;
