import { afterEach, describe, expect, it, jest } from '@jest/globals';
import type { Context } from 'aws-lambda';
import { task } from '../../lib/handler.js';
import { logger } from '../../lib/logger.js';

function lambdaContext(awsRequestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'secure-transcode-dev-validateSource',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:secure-transcode-dev-validateSource',
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: '/aws/lambda/secure-transcode-dev-validateSource',
    logStreamName: '2026/12/01/[$LATEST]0',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

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
    const handler = task('ValidateSource', async (_input: unknown) => {
      logger.info('working');
      throw new Error('boom');
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
    const handler = task('GenerateKeys', async (_input: unknown) => {
      logger.appendKeys({ assetId: 'a1' });
      logger.info('step');
      return {};
    });
    await logLinesOf(() => handler({}, lambdaContext('req-first')));
    // Act
    const lines = await logLinesOf(() => handler({}, lambdaContext('req-second')));
    // Assess
    expect(lines.map((l) => l.function_request_id)).toEqual(['req-second']);
  });
});
