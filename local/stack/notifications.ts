/**
 * The notifications sink: a queue subscribed to the SNS topic (as an email or webhook subscriber would be in AWS).
 * Each notification is appended to `<dataDir>/notifications.jsonl` — the message itself, one JSON object per line,
 * so every line validates against schemas/notification.v1.schema.json — and handed to listeners.
 */
import { appendFileSync } from 'node:fs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type SqsPoller, startSqsPoller } from './sqs-poller.js';

export type { Notification } from '../../lib/notifications/contract.js';

import type { Notification } from '../../lib/notifications/contract.js';

/** SNS → SQS delivery wraps the message in an envelope unless raw delivery is on; accept both. */
export function unwrapSnsMessage(body: string): unknown {
  const outer = JSON.parse(body) as { Type?: string; Message?: unknown };
  return outer?.Type === 'Notification' && typeof outer.Message === 'string'
    ? JSON.parse(outer.Message)
    : outer;
}

export function startNotificationSink(options: {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  file: string;
  onNotification: (n: Notification) => void;
  onError?: (e: unknown) => void;
}): SqsPoller {
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
        try {
          message = unwrapSnsMessage(record.body);
        } catch {
          // Not JSON: keep it verbatim rather than lose it.
          message = { unparsable: record.body };
        }
        appendFileSync(options.file, `${JSON.stringify(message)}\n`);
        options.onNotification(message as Notification);
      }
      return { batchItemFailures: [] };
    },
  });
}
