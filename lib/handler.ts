/**
 * Wraps a task function in middy. Tasks throw (Retry/Catch in the ASL decide what happens); only HTTP handlers map
 * errors to status codes. middy's early-timeout is disabled on purpose: the encrypt step manages its own time budget
 * from context.getRemainingTimeInMillis() and returns a checkpoint before the deadline.
 * Powertools' injectLambdaContext puts the Lambda request id (and function name, cold start) on every log line of the
 * invocation: the first thing an operator greps for. resetKeys drops keys appended during one invocation before the
 * next reuses the warm logger.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { isWorkflowError } from './errors.js';
import { logger } from './logger.js';

export type TaskFn<I, O> = (input: I, context: Context) => Promise<O>;

export function task<I, O>(name: string, fn: TaskFn<I, O>) {
  return middy<I, O, Error, Context>({ timeoutEarlyInMillis: 0 })
    .handler(async (event, context) => {
      try {
        return await fn(event, context);
      } catch (e) {
        const err = e as Error;
        logger.error(`${name} failed`, {
          errorName: err?.name,
          errorMessage: err?.message,
          code: isWorkflowError(e) ? e.code : undefined,
        });
        throw e;
      }
    })
    .use(injectLambdaContext(logger, { resetKeys: true }));
}

/**
 * An API Gateway function (key service, token issuer, SPEKE key provider): the same request-id logging as a task. Its
 * HTTP handler maps every error to a status code itself, so nothing is thrown past it.
 */
export function httpFunction<E, R>(fn: (event: E) => Promise<R>) {
  return middy<E, R, Error, Context>({ timeoutEarlyInMillis: 0 })
    .handler((event) => fn(event))
    .use(injectLambdaContext(logger, { resetKeys: true }));
}
