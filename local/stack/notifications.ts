/**
 * The notifications sink: a queue subscribed to the SNS topic (as an email or webhook subscriber would be in AWS).
 * Each notification is appended to `<dataDir>/notifications.jsonl` — the message itself, one JSON object per line,
 * so every line validates against schemas/notification.v1.schema.json — and handed to listeners.
 */
import { appendFileSync } from 'node:fs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { type SqsPoller, startSqsPoller } from './sqs-poller.js';

export interface Notification {
  version: string;
  status: 'SUCCEEDED' | 'FAILED';
  timestamp: string;
  profile: string | null;
  source: { bucket: string; key: string; versionId: string | null; size: number | null; etag: string | null };
  encrypted: {
    bucket: string;
    key: string;
    mode: string;
    initializationVector: string;
    wrappedKey: string;
    keyMd5: string;
    kmsKeyId: string;
  } | null;
  job: { backend: string; id: string; status: string; statusDetail: string | null } | null;
  outputs: Array<{
    key: string;
    presetId: string;
    durationMillis: number | null;
    width: number | null;
    height: number | null;
    fileSize: number | null;
  }>;
  playlists: Array<{ key: string; format: string }>;
  playback: { assetId: string; keyUrl: string; masterPlaylist: string | null } | null;
  execution: { name: string; arn: string };
  error?: { code: string; message: string; step: string };
}

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
