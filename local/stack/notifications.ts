/**
 * The notifications sink: a queue subscribed to the SNS topic (as an email or webhook subscriber would be in AWS).
 * Each notification is appended to `<dataDir>/notifications.jsonl` — the message itself, one JSON object per line,
 * so every line of ours validates against schemas/notification.v1.schema.json — and handed to listeners.
 *
 * Anyone who may publish to the topic can put something else on it. Such a message is recorded once as
 * `{"unparsable": <body>, "reason": …, "receivedAt": …}` and deleted like any other: leaving it on the queue would bring it back after
 * every visibility timeout, forever.
 *
 * A message leaves the queue only after its line is fsynced. A kill between the two brings the message back after
 * the restart; it is then recognised (the same line, or the same body for a foreign one) and not written twice.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type SqsPoller, startSqsPoller } from '../lambda/index.js';

export type { Notification } from '../../lib/notifications/contract.js';

import type { Notification } from '../../lib/notifications/contract.js';

/** SNS → SQS delivery wraps the message in an envelope unless raw delivery is on; accept both. */
export function unwrapSnsMessage(body: string): unknown {
  const outer = JSON.parse(body) as { Type?: string; Message?: unknown };
  return outer?.Type === 'Notification' && typeof outer.Message === 'string'
    ? JSON.parse(outer.Message)
    : outer;
}

/** Why a message is not one of this workflow's notifications, or undefined when it is one. */
export function notificationProblem(message: unknown): string | undefined {
  if (!message || typeof message !== 'object' || Array.isArray(message)) return 'not a JSON object';
  const m = message as Record<string, unknown>;
  if (typeof m.version !== 'string' || !m.version.startsWith('1.')) return 'no notification version 1.x';
  if (m.status !== 'SUCCEEDED' && m.status !== 'FAILED') return 'status is neither SUCCEEDED nor FAILED';
  const execution = m.execution as Record<string, unknown> | undefined;
  if (typeof execution?.name !== 'string') return 'no execution.name';
  if (!m.source || typeof m.source !== 'object') return 'no source';
  if (!Array.isArray(m.outputs) || !Array.isArray(m.playlists)) return 'no outputs/playlists arrays';
  return undefined;
}

export interface ForeignMessage {
  unparsable: string;
  reason: string;
  receivedAt: string;
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

/** What identifies a recorded line: the line itself, or for a foreign message the body it recorded. */
function recordKey(line: string): string {
  try {
    const parsed = JSON.parse(line) as { unparsable?: unknown };
    if (typeof parsed?.unparsable === 'string') return `foreign:${digest(parsed.unparsable)}`;
  } catch {
    // Not JSON (written by hand?): the line identifies only itself.
  }
  return `line:${digest(line)}`;
}

/**
 * The keys of the lines already recorded. A last line without its newline was cut by a kill during the write; its
 * message was never deleted and comes back, so the fragment is dropped rather than left as a line that is not JSON.
 */
function recordedKeys(file: string): Set<string> {
  if (!existsSync(file)) return new Set();
  const text = readFileSync(file, 'utf8');
  const complete = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
  if (complete.length !== text.length) truncateSync(file, Buffer.byteLength(complete));
  return new Set(complete.split('\n').filter(Boolean).map(recordKey));
}

function appendDurably(file: string, line: string): void {
  const fd = openSync(file, 'a', 0o600);
  try {
    writeSync(fd, `${line}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function startNotificationSink(options: {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  file: string;
  onNotification: (n: Notification) => void;
  onForeign?: (m: ForeignMessage) => void;
  onError?: (e: unknown) => void;
}): SqsPoller {
  const safely = (fn: () => void) => {
    // A listener's bug must not leave the message on the queue: it would be redelivered and recorded again.
    try {
      fn();
    } catch (e) {
      options.onError?.(e);
    }
  };
  const recorded = recordedKeys(options.file);
  const keep = (line: string, key: string) => {
    if (recorded.has(key)) return;
    appendDurably(options.file, line);
    recorded.add(key);
  };
  return startSqsPoller({
    sqs: options.sqs,
    queueUrl: options.queueUrl,
    queueArn: options.queueArn,
    region: options.region,
    waitTimeSeconds: 1,
    onError: options.onError,
    invoke: async (event) => {
      for (const record of event.Records) {
        let message: unknown;
        let problem: string | undefined;
        try {
          message = unwrapSnsMessage(record.body);
          problem = notificationProblem(message);
        } catch {
          problem = 'not JSON';
        }
        if (problem) {
          const foreign: ForeignMessage = {
            unparsable: record.body,
            reason: problem,
            receivedAt: new Date().toISOString(),
          };
          keep(JSON.stringify(foreign), `foreign:${digest(record.body)}`);
          safely(() => options.onForeign?.(foreign));
          continue;
        }
        const line = JSON.stringify(message);
        keep(line, `line:${digest(line)}`);
        safely(() => options.onNotification(message as Notification));
      }
      return { batchItemFailures: [] };
    },
  });
}
