/**
 * The Step Functions operations the local endpoint answers, one named function each over the engine, and their wire
 * shapes: timestamps as epoch seconds, history without inputs and outputs when `includeExecutionData` is false, and
 * opaque page tokens.
 */
import { type LocalStepFunctions, SfnApiError } from './engine.js';
import type { ExecutionRecord, HistoryEvent } from './store.js';

type Body = Record<string, unknown>;

/** The Step Functions JSON protocol sends timestamps as (fractional) epoch seconds; the engine keeps milliseconds. */
const toEpochSeconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function listItem(r: ExecutionRecord) {
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    startDate: toEpochSeconds(r.startDate),
    stopDate: toEpochSeconds(r.stopDate),
  };
}

function describe(r: ExecutionRecord) {
  return {
    ...listItem(r),
    input: r.input,
    inputDetails: { included: true },
    output: r.output,
    outputDetails: r.output === undefined ? undefined : { included: true },
    error: r.error,
    cause: r.cause,
  };
}

function wireEvent(e: HistoryEvent, includeData: boolean) {
  const out: Record<string, unknown> = { ...e, timestamp: e.timestamp / 1000 };
  if (!includeData) {
    // `includeExecutionData: false` drops inputs and outputs, as the service does.
    for (const [key, value] of Object.entries(out)) {
      if (key.endsWith('EventDetails') && value && typeof value === 'object') {
        const { input: _i, output: _o, ...rest } = value as Record<string, unknown>;
        out[key] = rest;
      }
    }
  }
  return out;
}

/** Opaque page token: the offset, base64-encoded so clients do not depend on it. */
function page<T>(items: T[], body: Body, defaultMax: number, maxMax: number) {
  const max = Math.min(Number(body.maxResults) > 0 ? Number(body.maxResults) : defaultMax, maxMax);
  const start =
    typeof body.nextToken === 'string' ? Number(Buffer.from(body.nextToken, 'base64').toString()) : 0;
  if (!Number.isInteger(start) || start < 0) throw new SfnApiError('InvalidToken', 'Invalid Token');
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64') : undefined;
  return { slice, nextToken: next };
}

const str = (body: Body, k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);

function startExecution(engine: LocalStepFunctions, body: Body) {
  const r = engine.startExecution({
    stateMachineArn: str(body, 'stateMachineArn'),
    name: str(body, 'name'),
    input: str(body, 'input'),
  });
  return { executionArn: r.executionArn, startDate: toEpochSeconds(r.startDate) };
}

function describeExecution(engine: LocalStepFunctions, body: Body) {
  return describe(engine.describeExecution(str(body, 'executionArn')));
}

function stopExecution(engine: LocalStepFunctions, body: Body) {
  const cause = { error: str(body, 'error'), cause: str(body, 'cause') };
  return { stopDate: toEpochSeconds(engine.stopExecution(str(body, 'executionArn'), cause).stopDate) };
}

function listExecutions(engine: LocalStepFunctions, body: Body) {
  const { slice, nextToken } = page(
    engine.listExecutions({
      stateMachineArn: str(body, 'stateMachineArn'),
      statusFilter: str(body, 'statusFilter'),
    }),
    body,
    100,
    1000,
  );
  return { executions: slice.map(listItem), nextToken };
}

function getExecutionHistory(engine: LocalStepFunctions, body: Body) {
  const events = engine.getExecutionHistory(str(body, 'executionArn'));
  if (body.reverseOrder === true) events.reverse();
  const { slice, nextToken } = page(events, body, 100, 1000);
  return { events: slice.map((e) => wireEvent(e, body.includeExecutionData !== false)), nextToken };
}

function listStateMachines(engine: LocalStepFunctions) {
  return {
    stateMachines: [
      {
        stateMachineArn: engine.stateMachineArn,
        name: engine.stateMachineName,
        type: 'STANDARD',
        creationDate: toEpochSeconds(engine.describeStateMachine().creationDate),
      },
    ],
  };
}

function describeStateMachine(engine: LocalStepFunctions, body: Body) {
  if (str(body, 'stateMachineArn') !== engine.stateMachineArn) {
    throw new SfnApiError(
      'StateMachineDoesNotExist',
      `State Machine Does Not Exist: '${str(body, 'stateMachineArn')}'`,
    );
  }
  const machine = engine.describeStateMachine();
  return {
    stateMachineArn: engine.stateMachineArn,
    name: engine.stateMachineName,
    status: 'ACTIVE',
    definition: machine.definition,
    roleArn: machine.roleArn,
    type: 'STANDARD',
    creationDate: toEpochSeconds(machine.creationDate),
    loggingConfiguration: { level: 'OFF', includeExecutionData: false },
    tracingConfiguration: { enabled: false },
  };
}

/** The operations the local Step Functions answers, by the name `X-Amz-Target` carries. */
export const OPERATIONS: Record<string, (engine: LocalStepFunctions, body: Body) => unknown> = {
  StartExecution: startExecution,
  DescribeExecution: describeExecution,
  StopExecution: stopExecution,
  ListExecutions: listExecutions,
  GetExecutionHistory: getExecutionHistory,
  ListStateMachines: listStateMachines,
  DescribeStateMachine: describeStateMachine,
};
