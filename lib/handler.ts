/**
 * The three Lambda shapes of this project, each a middy chain built here and nowhere else:
 * - task: a Step Functions Task. Declared once as { name, input schema, lib function }; middleware parses the input
 *   (schema failures become the ASL-visible InvalidTaskInputError) and logs a failure under the task's name. Tasks
 *   throw: Retry/Catch in the ASL decide what happens; only HTTP handlers map errors to status codes.
 * - httpFunction: an API Gateway function that maps every error to a status code itself.
 * - sqsBatchFunction: an SQS consumer reporting partial batch failures.
 * middy's early-timeout is disabled on purpose: the encrypt step manages its own time budget from
 * context.getRemainingTimeInMillis() and returns a checkpoint before the deadline.
 * Powertools' injectLambdaContext puts the Lambda request id (and function name, cold start) on every log line of the
 * invocation: the first thing an operator greps for. It is the first middleware, so its `before` runs before the
 * input is parsed and its `onError` (middy runs those in reverse) after the failure is logged. resetKeys drops keys
 * appended during one invocation before the next reuses the warm logger.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddlewareObj } from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { z } from 'zod';
import { parseTaskInput } from './contracts.js';
import { isWorkflowError } from './errors.js';
import { logger } from './logger.js';

export interface TaskDefinition<S extends z.ZodType, O> {
  /** The state's name in the ASL: prefixes input errors and names the failure log line. */
  name: string;
  input: S;
  run: (input: z.output<S>, context: Context) => Promise<O>;
}

/** Replaces the raw event with the parsed input, or throws InvalidTaskInputError naming the task. */
function parseInput(name: string, schema: z.ZodType): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    before: (request) => {
      request.event = parseTaskInput(schema, request.event, name);
    },
  };
}

/** One error line per failed invocation, with the workflow error code when there is one; the error is rethrown. */
function logFailure(name: string): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    onError: (request) => {
      const err = request.error;
      logger.error(`${name} failed`, {
        errorName: err?.name,
        errorMessage: err?.message,
        code: isWorkflowError(err) ? err.code : undefined,
      });
    },
  };
}

export function task<S extends z.ZodType, O>({ name, input, run }: TaskDefinition<S, O>) {
  return middy<unknown, O, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logFailure(name))
    .use(parseInput(name, input))
    .handler((event, context) => run(event as z.output<S>, context));
}

/**
 * An API Gateway function (key service, token issuer, SPEKE key provider): the same request-id logging as a task. Its
 * HTTP handler maps every error to a status code itself, so nothing is thrown past it.
 */
export function httpFunction<E, R>(fn: (event: E) => Promise<R>) {
  return middy<E, R, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event) => fn(event));
}

/**
 * An SQS consumer (Powertools' batch utility): one bad message never blocks or replays the rest, and one that keeps
 * failing reaches the DLQ via redrive. One record at a time: a batch is at most ten messages, and sequential work
 * keeps downstream calls (StartExecution) under their throttle when many arrive at once. A batch whose every record
 * fails is still a partial-failure response (not a thrown error), so the Lambda service returns exactly the failed
 * messages to the queue.
 */
export function sqsBatchFunction(fn: (record: SQSRecord) => Promise<void>) {
  const processor = new BatchProcessor(EventType.SQS);
  const processRecord = async (record: SQSRecord): Promise<void> => {
    try {
      await fn(record);
    } catch (e) {
      logger.error('message failed', { messageId: record.messageId, error: (e as Error).message });
      throw e;
    }
  };
  return middy<SQSEvent, SQSBatchResponse, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler((event, context) =>
      processPartialResponse(event, processRecord, processor, {
        context,
        processInParallel: false,
        throwOnFullBatchFailure: false,
      }),
    );
}
