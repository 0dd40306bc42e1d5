import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type SfnServer, startSfnServer } from '../../../local/sfn/index.js';
import { dataDirCredentials } from '../../support/credentials.js';

const fixtures = resolve('test/fixtures/sfn');
// The endpoint accepts only these, read from a data directory as the stack reads its own.
const { dataDir: credentialsDir, credentials, auth } = dataDirCredentials();
afterAll(() => rmSync(credentialsDir, { recursive: true, force: true }));

const baseOptions = {
  auth,
  definitionPath: join(fixtures, 'machine.asl.json'),
  serverlessPath: join(fixtures, 'serverless.yml'),
  stateMachineName: 'fixture',
};

function clientFor(server: SfnServer) {
  return new SFNClient({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { ...credentials },
    maxAttempts: 1,
  });
}

async function runToEnd(server: SfnServer, name: string, input: object) {
  const sfn = clientFor(server);
  const started = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: server.stateMachineArn,
      name,
      input: JSON.stringify(input),
    }),
  );
  await server.engine.waitForExecution(started.executionArn ?? '', 20_000);
  const described = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  const history = await sfn.send(
    new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 1000 }),
  );
  return { started, described, events: history.events ?? [] };
}

const ofType = (events: HistoryEvent[], type: string) => events.filter((e) => e.type === type);

describe('local Step Functions endpoint', () => {
  let dataDir: string;
  let server: SfnServer;
  let sfn: SFNClient;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'st-sfn-'));
    server = await startSfnServer({ ...baseOptions, dataDir, fast: true });
    sfn = clientFor(server);
  });

  afterAll(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers a repeated name and input with the running execution, and refuses a different input', async () => {
    // Prepare
    const input = JSON.stringify({ sleepMs: 600 });
    const first = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'dup-1', input }),
    );

    // Act
    const again = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'dup-1', input }),
    );
    const otherInput = sfn.send(
      new StartExecutionCommand({
        stateMachineArn: server.stateMachineArn,
        name: 'dup-1',
        input: '{"sleepMs":1}',
      }),
    );

    // Assess
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate?.getTime()).toBe(first.startDate?.getTime());
    await expect(otherInput).rejects.toMatchObject({
      name: 'ExecutionAlreadyExists',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('refuses to reuse the name of a closed execution', async () => {
    // Prepare
    const { started } = await runToEnd(server, 'closed-1', {});

    // Act
    const reuse = sfn.send(
      new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'closed-1', input: '{}' }),
    );

    // Assess
    expect(started.executionArn).toBe(
      `${server.stateMachineArn.replace(':stateMachine:', ':execution:')}:closed-1`,
    );
    await expect(reuse).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it.each([
    ['a space', 'has space'],
    ['81 characters', 'x'.repeat(81)],
    ['a non-ASCII letter', 'naïve'],
  ])('rejects an execution name with %s', async (_label, name) => {
    // Act
    const start = sfn.send(
      new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name, input: '{}' }),
    );

    // Assess
    await expect(start).rejects.toMatchObject({ name: 'InvalidName' });
  });

  it('rejects an unknown state machine and an unknown execution', async () => {
    // Act
    const start = sfn.send(
      new StartExecutionCommand({
        stateMachineArn: `${server.stateMachineArn}-nope`,
        name: 'n',
        input: '{}',
      }),
    );
    const describeMissing = sfn.send(
      new DescribeExecutionCommand({
        executionArn: `${server.stateMachineArn.replace(':stateMachine:', ':execution:')}:missing`,
      }),
    );

    // Assess
    await expect(start).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(describeMissing).rejects.toMatchObject({ name: 'ExecutionDoesNotExist' });
  });

  it('records each retry and every state input and output in the history', async () => {
    // Act
    const { started, described, events } = await runToEnd(server, 'retry-1', { failTimes: 2 });

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    const retries = ofType(events, 'StateRetried');
    expect(retries.map((e) => e.evaluationFailedEventDetails)).toEqual([
      expect.objectContaining({
        state: 'Flaky',
        error: 'TransientError',
        location: expect.stringContaining('attempt 1 of 3'),
      }),
      expect.objectContaining({
        state: 'Flaky',
        error: 'TransientError',
        location: expect.stringContaining('attempt 2 of 3'),
      }),
    ]);
    expect(ofType(events, 'LambdaFunctionFailed')).toHaveLength(2);
    expect(ofType(events, 'LambdaFunctionScheduled')).toHaveLength(4);
    expect(ofType(events, 'LambdaFunctionFailed')[0]?.lambdaFunctionFailedEventDetails).toEqual({
      error: 'TransientError',
      cause: expect.stringContaining('"errorMessage":"attempt 1 failed"'),
    });
    const entered = events
      .filter((e) => e.type?.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual(['RecordExecution', 'Flaky', 'Pause', 'Finish']);
    const recordExit = events.find((e) => e.stateExitedEventDetails?.name === 'RecordExecution');
    expect(JSON.parse(recordExit?.stateExitedEventDetails?.output ?? '{}')).toEqual({
      failTimes: 2,
      execution: { name: 'retry-1', arn: started.executionArn },
    });
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]?.type).toBe('ExecutionStarted');
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
  });

  it('calls handlers with a Lambda context whose deadline follows the function timeout', async () => {
    // Act
    const { described } = await runToEnd(server, 'context-1', {});

    // Assess
    const finish = JSON.parse(described.output ?? '{}').finish;
    expect(finish.functionName).toBe('secure-transcode-local-finish');
    expect(finish.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(finish.remainingMs).toBeGreaterThan(500);
    expect(finish.remainingMs).toBeLessThanOrEqual(1000);
    expect(finish).not.toHaveProperty('dropped');
  });

  it('catches a permanent error and fails through the Fail state', async () => {
    // Act
    const { described, events } = await runToEnd(server, 'boom-1', { mode: 'boom' });

    // Assess
    expect(described).toMatchObject({
      status: 'FAILED',
      error: 'FixtureFailed',
      cause: 'A task failed permanently.',
    });
    expect(ofType(events, 'StateCaught')[0]?.evaluationFailedEventDetails).toMatchObject({
      state: 'Finish',
      error: 'PermanentError',
      location: expect.stringContaining('→ Failed'),
    });
    const failedExit = events.find((e) => e.stateExitedEventDetails?.name === 'Failed');
    const errorField = JSON.parse(failedExit?.stateExitedEventDetails?.output ?? '{}').error;
    expect(errorField.Error).toBe('PermanentError');
    expect(JSON.parse(errorField.Cause)).toMatchObject({
      errorType: 'PermanentError',
      errorMessage: 'the fixture refuses',
    });
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'FixtureFailed' },
    });
  });

  it('fails a task that outlives its function timeout with Lambda.Unknown', async () => {
    // Act
    const { events } = await runToEnd(server, 'timeout-1', { sleepMs: 1500 });

    // Assess
    expect(ofType(events, 'LambdaFunctionFailed')[0]?.lambdaFunctionFailedEventDetails).toEqual({
      error: 'Lambda.Unknown',
      cause: expect.stringContaining('Task timed out after 1.00 seconds'),
    });
  });
});

describe('local Step Functions persistence and timing', () => {
  it('keeps executions and their history across a restart and closes interrupted ones as ABORTED', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'st-sfn-'));
    const first = await startSfnServer({ ...baseOptions, dataDir, fast: true });
    const done = await runToEnd(first, 'keep-1', {});
    const running = await clientFor(first).send(
      new StartExecutionCommand({
        stateMachineArn: first.stateMachineArn,
        name: 'cut-1',
        input: '{"sleepMs":800}',
      }),
    );
    await first.stop();

    // Act
    const second = await startSfnServer({ ...baseOptions, dataDir, fast: true });
    const sfn = clientFor(second);
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: done.started.executionArn }),
    );
    const history = await sfn.send(
      new GetExecutionHistoryCommand({ executionArn: done.started.executionArn, maxResults: 1000 }),
    );
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: second.stateMachineArn }));
    const cut = await sfn.send(new DescribeExecutionCommand({ executionArn: running.executionArn }));
    await second.stop();
    rmSync(dataDir, { recursive: true, force: true });

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    expect(described.output).toBe(done.described.output);
    expect(history.events).toEqual(done.events);
    expect(listed.executions?.map((e) => e.name).sort()).toEqual(['cut-1', 'keep-1']);
    expect(cut.status).toBe('ABORTED');
  });

  it('waits for real unless fast mode shortens Wait states', async () => {
    // Prepare
    const dataDir = mkdtempSync(join(tmpdir(), 'st-sfn-'));
    const real = await startSfnServer({ ...baseOptions, dataDir: join(dataDir, 'real') });
    const fast = await startSfnServer({
      ...baseOptions,
      dataDir: join(dataDir, 'fast'),
      fast: { waitMs: 10 },
    });

    // Act
    const slow = await runToEnd(real, 'wait-1', {});
    const quick = await runToEnd(fast, 'wait-1', {});
    await real.stop();
    await fast.stop();
    rmSync(dataDir, { recursive: true, force: true });

    // Assess
    const waited = (r: typeof slow) =>
      (r.described.stopDate?.getTime() ?? 0) - (r.described.startDate?.getTime() ?? 0);
    expect(waited(slow)).toBeGreaterThanOrEqual(1000);
    expect(waited(quick)).toBeLessThan(1000);
  });
});
