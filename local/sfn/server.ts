/**
 * The Step Functions wire protocol (AWS JSON 1.0: `POST /`, `X-Amz-Target: AWSStepFunctions.<Operation>`) in front
 * of the local engine, so the starter's `@aws-sdk/client-sfn` calls and the AWS CLI work unchanged.
 * Timestamps go out as epoch seconds, errors as `{"__type": …, "message": …}` with HTTP 400. Requests pass the
 * stack's request guard first (loopback Host, SigV4 with the stack's credentials).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultInjector } from '../faults.js';
import { createRequestGuard, type LocalAuth, loopbackBindAddress } from '../http/request-guard.js';
import { LocalStepFunctions, type LocalStepFunctionsOptions, SfnApiError } from './engine.js';
import type { ExecutionRecord, HistoryEvent } from './store.js';

export interface SfnServerOptions extends LocalStepFunctionsOptions {
  /** The stack's credentials: requests signed otherwise are refused with 403. */
  auth: LocalAuth;
  host?: string;
  port?: number;
  faults?: FaultInjector;
}

export interface SfnServer {
  endpoint: string;
  port: number;
  stateMachineArn: string;
  engine: LocalStepFunctions;
  stop(): Promise<void>;
}

type Body = Record<string, unknown>;

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);

function listItem(r: ExecutionRecord) {
  return {
    executionArn: r.executionArn,
    stateMachineArn: r.stateMachineArn,
    name: r.name,
    status: r.status,
    startDate: seconds(r.startDate),
    stopDate: seconds(r.stopDate),
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

function handle(engine: LocalStepFunctions, operation: string, body: Body): unknown {
  const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
  switch (operation) {
    case 'StartExecution': {
      const r = engine.startExecution({
        stateMachineArn: str('stateMachineArn'),
        name: str('name'),
        input: str('input'),
      });
      return { executionArn: r.executionArn, startDate: seconds(r.startDate) };
    }
    case 'DescribeExecution':
      return describe(engine.describeExecution(str('executionArn')));
    case 'StopExecution':
      return {
        stopDate: seconds(
          engine.stopExecution(str('executionArn'), { error: str('error'), cause: str('cause') }).stopDate,
        ),
      };
    case 'ListExecutions': {
      const { slice, nextToken } = page(
        engine.listExecutions({ stateMachineArn: str('stateMachineArn'), statusFilter: str('statusFilter') }),
        body,
        100,
        1000,
      );
      return { executions: slice.map(listItem), nextToken };
    }
    case 'GetExecutionHistory': {
      const events = engine.getExecutionHistory(str('executionArn'));
      if (body.reverseOrder === true) events.reverse();
      const { slice, nextToken } = page(events, body, 100, 1000);
      return { events: slice.map((e) => wireEvent(e, body.includeExecutionData !== false)), nextToken };
    }
    case 'ListStateMachines':
      return {
        stateMachines: [
          {
            stateMachineArn: engine.stateMachineArn,
            name: engine.stateMachineName,
            type: 'STANDARD',
            creationDate: seconds(engine.describeStateMachine().creationDate),
          },
        ],
      };
    case 'DescribeStateMachine':
      if (str('stateMachineArn') !== engine.stateMachineArn) {
        throw new SfnApiError(
          'StateMachineDoesNotExist',
          `State Machine Does Not Exist: '${str('stateMachineArn')}'`,
        );
      }
      {
        const machine = engine.describeStateMachine();
        return {
          stateMachineArn: engine.stateMachineArn,
          name: engine.stateMachineName,
          status: 'ACTIVE',
          definition: machine.definition,
          roleArn: machine.roleArn,
          type: 'STANDARD',
          creationDate: seconds(machine.creationDate),
          loggingConfiguration: { level: 'OFF', includeExecutionData: false },
          tracingConfiguration: { enabled: false },
        };
      }
    default:
      throw new SfnApiError(
        'UnknownOperationException',
        `Operation ${operation} is not supported by the local Step Functions`,
      );
  }
}

function send(res: ServerResponse, status: number, payload: unknown, errorType?: string) {
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  });
  res.end(text);
}

const MAX_BODY = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new SfnApiError('ValidationException', 'Request body is too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export async function startSfnServer(options: SfnServerOptions): Promise<SfnServer> {
  const engine = new LocalStepFunctions(options);
  const guard = createRequestGuard({
    auth: options.auth,
    services: ['states'],
    protocol: 'json',
    jsonContentType: 'application/x-amz-json-1.0',
  });
  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      if (!(await guard.admit(req, res, raw))) return;
      const text = raw.toString('utf8');
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith('AWSStepFunctions.')
        ? target.slice('AWSStepFunctions.'.length)
        : '';
      if (req.method !== 'POST' || !operation) {
        send(
          res,
          400,
          {
            __type: 'UnknownOperationException',
            message: 'Expected POST with X-Amz-Target: AWSStepFunctions.<Operation>',
          },
          'UnknownOperationException',
        );
        return;
      }
      const fault = options.faults?.decide('sfn', operation);
      if (fault === 'reset') {
        req.socket.destroy();
        return;
      }
      if (fault) {
        send(
          res,
          fault === 'throttle' ? 400 : 500,
          {
            __type: fault === 'throttle' ? 'ThrottlingException' : 'InternalServerError',
            message: 'Injected fault',
          },
          fault === 'throttle' ? 'ThrottlingException' : 'InternalServerError',
        );
        return;
      }
      let body: Body;
      try {
        body = text ? (JSON.parse(text) as Body) : {};
      } catch {
        send(
          res,
          400,
          { __type: 'SerializationException', message: 'Request body is not valid JSON' },
          'SerializationException',
        );
        return;
      }
      try {
        send(res, 200, handle(engine, operation, body));
      } catch (e) {
        if (e instanceof SfnApiError) send(res, e.status, { __type: e.code, message: e.message }, e.code);
        else
          send(
            res,
            500,
            { __type: 'InternalServerError', message: (e as Error).message },
            'InternalServerError',
          );
      }
    })().catch((e: unknown) => {
      if (!res.headersSent)
        send(res, 500, { __type: 'InternalServerError', message: String(e) }, 'InternalServerError');
    });
  });
  const host = loopbackBindAddress(options.host);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    stateMachineArn: engine.stateMachineArn,
    engine,
    async stop() {
      await engine.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
