import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { InvalidTaskInputError } from '../../lib/errors.js';
import { httpFunction, task } from '../../lib/handler.js';
import { logger } from '../../lib/logger.js';
import { lambdaContext } from '../support/lambda-context.js';

/** Captures the JSON lines the logger writes during `fn`. */
async function logLinesOf(fn: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const lines: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(chunk.toString());
    return true;
  });
  const errSpy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(chunk.toString());
    return true;
  });
  try {
    await fn().catch(() => undefined);
  } finally {
    spy.mockRestore();
    errSpy.mockRestore();
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('task handlers', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('puts the Lambda request id on every log line of an invocation, including the failure line', async () => {
    // Prepare
    const handler = task({
      name: 'ValidateSource',
      input: z.unknown(),
      run: async () => {
        logger.info('working');
        throw new Error('boom');
      },
    });
    // Act
    const lines = await logLinesOf(() => handler({}, lambdaContext('req-1111')));
    // Assess
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line.function_request_id).toBe('req-1111');
    expect(lines.map((l) => l.message)).toEqual(expect.arrayContaining(['working', 'ValidateSource failed']));
  });

  it('carries the new request id, not the previous one, on the next invocation of a warm logger', async () => {
    // Prepare
    const handler = task({
      name: 'GenerateKeys',
      input: z.unknown(),
      run: async () => {
        logger.appendKeys({ assetId: 'a1' });
        logger.info('step');
        return {};
      },
    });
    await logLinesOf(() => handler({}, lambdaContext('req-first')));
    // Act
    const lines = await logLinesOf(() => handler({}, lambdaContext('req-second')));
    // Assess
    expect(lines.map((l) => l.function_request_id)).toEqual(['req-second']);
  });

  it('hands the function the parsed input and returns its result', async () => {
    // Prepare
    const run = jest.fn(async (input: { n: number }, _context: Context) => ({ doubled: input.n * 2 }));
    const handler = task({ name: 'Double', input: z.object({ n: z.coerce.number() }), run });
    // Act
    const out = await handler({ n: '21' }, lambdaContext('req-parse'));
    // Assess
    expect(out).toEqual({ doubled: 42 });
    expect(run).toHaveBeenCalledWith({ n: 21 }, expect.objectContaining({ awsRequestId: 'req-parse' }));
  });

  it('rejects an invalid input with InvalidTaskInputError naming the task, logged with the request id', async () => {
    // Prepare
    const run = jest.fn(async () => ({}));
    const handler = task({ name: 'WrapKey', input: z.object({ keys: z.string() }), run });
    let failure: Promise<unknown> = Promise.resolve();
    // Act
    const lines = await logLinesOf(async () => {
      failure = handler({ keys: 7 }, lambdaContext('req-bad'));
      await failure;
    });
    // Assess
    await expect(failure).rejects.toThrow(InvalidTaskInputError);
    await expect(failure).rejects.toThrow(/^WrapKey: invalid input — keys: /);
    expect(run).not.toHaveBeenCalled();
    expect(lines).toEqual([
      expect.objectContaining({
        message: 'WrapKey failed',
        errorName: 'InvalidTaskInputError',
        code: 'INVALID_TASK_INPUT',
        function_request_id: 'req-bad',
      }),
    ]);
  });
});

describe('HTTP functions (key service, token issuer, SPEKE key provider)', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('puts the function name and request id on every log line and returns the HTTP answer unchanged', async () => {
    // Prepare
    const answer = { statusCode: 200, body: 'ok' };
    const handler = httpFunction(async (_event: unknown) => {
      logger.info('key delivered');
      return answer;
    });
    let result: unknown;
    // Act
    const lines = await logLinesOf(async () => {
      result = await handler({}, lambdaContext('req-http', 'secure-transcode-dev-keyService'));
    });
    // Assess
    expect(result).toEqual(answer);
    expect(lines.map((l) => [l.message, l.function_name, l.function_request_id])).toEqual([
      ['key delivered', 'secure-transcode-dev-keyService', 'req-http'],
    ]);
  });
});
