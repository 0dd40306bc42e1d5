/**
 * The console's read model: executions (from the local Step Functions), their histories shortened for display, the
 * notifications as SNS and EventBridge delivered them (each checked against the published JSON Schema), and the
 * assets the successful notifications describe.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { EVENT_SOURCE, type Notification } from '../../lib/notifications/contract.js';
import {
  type ExecutionRecord,
  type HistoryEvent,
  type LocalStepFunctions,
  summarizeExecution,
} from '../sfn/index.js';
import { shortenPayload } from './redact.js';

export interface ExecutionRow {
  name: string;
  status: string;
  currentState: string | null;
  backend: string | null;
  sourceKey: string | null;
  assetId: string | null;
  errorCode: string | null;
  failedStep: string | null;
  startDate: number;
  stopDate: number | null;
}

function rowOf(record: ExecutionRecord, history: HistoryEvent[]): ExecutionRow {
  const s = summarizeExecution(record, history);
  return {
    name: record.name,
    status: record.status,
    currentState: record.currentState ?? null,
    backend: s.backend ?? null,
    sourceKey: s.sourceKey ?? null,
    assetId: s.assetId ?? null,
    errorCode: s.errorCode ?? null,
    failedStep: s.failedStep ?? null,
    startDate: record.startDate,
    stopDate: record.stopDate ?? null,
  };
}

export function listExecutions(sfn: LocalStepFunctions, limit = 200): ExecutionRow[] {
  return sfn
    .listExecutions({ stateMachineArn: sfn.stateMachineArn })
    .sort((a, b) => b.startDate - a.startDate)
    .slice(0, limit)
    .map((r) => rowOf(r, sfn.getExecutionHistory(r.executionArn)));
}

export interface DisplayEvent {
  id: number;
  timestamp: number;
  type: string;
  state: string | null;
  input?: unknown;
  output?: unknown;
  error?: string;
  cause?: unknown;
}

const DETAIL_KEYS = [
  'stateEnteredEventDetails',
  'stateExitedEventDetails',
  'evaluationFailedEventDetails',
  'taskFailedEventDetails',
  'executionFailedEventDetails',
  'executionSucceededEventDetails',
  'executionStartedEventDetails',
  'taskScheduledEventDetails',
  'taskSucceededEventDetails',
  'taskTimedOutEventDetails',
];

function displayEvent(event: HistoryEvent): DisplayEvent {
  const out: DisplayEvent = { id: event.id, timestamp: event.timestamp, type: event.type, state: null };
  for (const key of DETAIL_KEYS) {
    const d = event[key] as Record<string, unknown> | undefined;
    if (!d) continue;
    const name = d.name ?? d.state ?? d.resource;
    if (typeof name === 'string') out.state = name;
    if ('input' in d) out.input = shortenPayload(d.input);
    if ('output' in d) out.output = shortenPayload(d.output);
    if (typeof d.error === 'string') out.error = d.error;
    if ('cause' in d) out.cause = shortenPayload(d.cause);
    if ('parameters' in d) out.input = shortenPayload(d.parameters);
  }
  return out;
}

export interface ExecutionDetail {
  execution: ExecutionRow & { arn: string; error: string | null };
  /** States in the order they were entered (the path taken), repeats included. */
  path: string[];
  retries: Record<string, number>;
  caught: Record<string, string[]>;
  events: DisplayEvent[];
}

export function executionDetail(sfn: LocalStepFunctions, name: string): ExecutionDetail | undefined {
  const arn = sfn.executionArn(name);
  let record: ExecutionRecord;
  try {
    record = sfn.describeExecution(arn);
  } catch {
    return undefined;
  }
  const history = sfn.getExecutionHistory(arn);
  const path: string[] = [];
  const retries: Record<string, number> = {};
  const caught: Record<string, string[]> = {};
  for (const e of history) {
    const entered = e.stateEnteredEventDetails as { name?: string } | undefined;
    if (e.type.endsWith('StateEntered') && entered?.name) path.push(entered.name);
    const failed = e.evaluationFailedEventDetails as { state?: string; error?: string } | undefined;
    if (e.type === 'StateRetried' && failed?.state) retries[failed.state] = (retries[failed.state] ?? 0) + 1;
    if (e.type === 'StateCaught' && failed?.state) {
      caught[failed.state] = [...(caught[failed.state] ?? []), failed.error ?? ''];
    }
  }
  return {
    execution: { ...rowOf(record, history), arn, error: record.error ?? null },
    path,
    retries,
    caught,
    events: history.map(displayEvent),
  };
}

export type Channel = 'SNS' | 'EventBridge';

export interface DisplayNotification {
  channel: Channel;
  receivedAt: string | null;
  valid: boolean;
  problems: string[];
  status: string | null;
  execution: string | null;
  message: unknown;
}

function readLines(file: string): unknown[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as unknown;
      } catch {
        return { unparsable: l };
      }
    });
}

export function createNotificationReader(schema: object, files: { sns: string; eventBridge: string }) {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  const validate = ajv.compile(schema);
  const check = (channel: Channel, message: unknown, receivedAt: string | null): DisplayNotification => {
    const foreign = message as { unparsable?: unknown; reason?: unknown };
    if (typeof foreign?.unparsable === 'string') {
      return {
        channel,
        receivedAt,
        valid: false,
        problems: [`not a secure-transcode notification: ${String(foreign.reason ?? 'unparsable')}`],
        status: null,
        execution: null,
        message: foreign.unparsable.slice(0, 4096),
      };
    }
    const ok = validate(message) === true;
    const m = (message ?? {}) as Partial<Notification>;
    return {
      channel,
      receivedAt,
      valid: ok,
      problems: ok
        ? []
        : (validate.errors ?? []).slice(0, 3).map((e) => `${e.instancePath || '(root)'} ${e.message}`),
      status: typeof m.status === 'string' ? m.status : null,
      execution: typeof m.execution?.name === 'string' ? m.execution.name : null,
      message: message,
    };
  };
  return {
    all(): DisplayNotification[] {
      const sns = readLines(files.sns).map((m) => {
        // Our messages carry their own timestamp; a foreign one gets the time the sink recorded it.
        const at = m as { timestamp?: unknown; receivedAt?: unknown };
        const when = typeof at?.receivedAt === 'string' ? at.receivedAt : at?.timestamp;
        return check('SNS', m, typeof when === 'string' ? when : null);
      });
      const events = readLines(files.eventBridge).map((e) => {
        const entry = e as { time?: string; detail?: unknown; source?: unknown; 'detail-type'?: unknown };
        // The bus also carries other services' events (MediaConvert's job state changes): shown, but not as ours.
        if (typeof entry.source === 'string' && entry.source !== EVENT_SOURCE) {
          const foreign = {
            unparsable: JSON.stringify(e),
            reason: `an event from ${entry.source} (${String(entry['detail-type'] ?? 'no detail-type')})`,
          };
          return check('EventBridge', foreign, entry.time ?? null);
        }
        return check('EventBridge', entry.detail ?? e, entry.time ?? null);
      });
      return [...sns, ...events].sort((a, b) => String(b.receivedAt).localeCompare(String(a.receivedAt)));
    },
    /** One entry per asset from the newest valid success notification, newest first. */
    assets(): Notification[] {
      const seen = new Set<string>();
      const out: Notification[] = [];
      for (const n of readLines(files.sns).reverse()) {
        const m = n as Notification;
        const id = m?.playback?.assetId;
        if (m?.status !== 'SUCCEEDED' || !id || seen.has(id) || validate(m) !== true) continue;
        seen.add(id);
        out.push(m);
      }
      return out;
    },
  };
}
