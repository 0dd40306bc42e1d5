/**
 * The notification inbox: the topic's queue drained into `<dataDir>/notifications.jsonl`, each notification logged,
 * a finished asset exported to `<dataDir>/exports/`, and then announced to listeners and waiters.
 */
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { exportAsset } from './exports.js';
import { type Notification, startNotificationSink } from './notifications.js';
import type { QueueRef } from './resources.js';
import { LOCAL_BUCKET } from './types.js';
import { waitFor } from './wait.js';

export interface NotificationInbox {
  notificationsFile: string;
  exportsDir: string;
  onNotification(listener: (n: Notification) => void): () => void;
  waitForNotification(executionName: string, timeoutMs?: number): Promise<Notification>;
  exportDirFor(assetId: string): string | undefined;
  stop(): Promise<void>;
}

export function describeNotification(n: Notification): string {
  const src =
    n.source.bucket && n.source.key
      ? `s3://${n.source.bucket}/${n.source.key}`
      : 'an execution input without a source';
  if (n.status === 'SUCCEEDED') {
    return `notification: SUCCEEDED ${src} → ${n.playback?.masterPlaylist ?? n.playlists[0]?.key ?? '(no playlist)'} (execution ${n.execution.name})`;
  }
  return `notification: FAILED ${src} at ${n.error?.step ?? '?'}: ${n.error?.code ?? '?'} ${n.error?.message ?? ''} (execution ${n.execution.name})`;
}

export function openNotificationInbox(options: {
  dataDir: string;
  region: string;
  sqs: SQSClient;
  s3: S3Client;
  queue: QueueRef;
  log: (line: string) => void;
}): NotificationInbox {
  const { dataDir, s3, log } = options;
  const exportsDir = join(dataDir, 'exports');
  const notificationsFile = join(dataDir, 'notifications.jsonl');
  const notifications: Notification[] = [];
  const exported = new Map<string, string>();
  const listeners = new Set<(n: Notification) => void>();
  const subscribe = (listener: (n: Notification) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  const sink = startNotificationSink({
    sqs: options.sqs,
    queueUrl: options.queue.url,
    queueArn: options.queue.arn,
    region: options.region,
    file: notificationsFile,
    onError: (e) => log(`notifications: ${(e as Error).message}`),
    onForeign: (m) =>
      log(
        `notifications: recorded a message on the topic that is not a secure-transcode notification (${m.reason})`,
      ),
    onNotification: (n) => {
      log(describeNotification(n));
      const deliver = () => {
        notifications.push(n);
        for (const l of listeners) l(n);
      };
      if (n.status !== 'SUCCEEDED' || !n.playback?.assetId) return deliver();
      // Export before announcing, so whoever waits on the notification finds the files in place.
      void exportAsset(s3, LOCAL_BUCKET, exportsDir, n)
        .then((result) => {
          if (result && n.playback) exported.set(n.playback.assetId, result.dir);
        })
        .catch((e: unknown) => log(`export of ${n.playback?.assetId} failed: ${(e as Error).message}`))
        .finally(deliver);
    },
  });
  return {
    notificationsFile,
    exportsDir,
    onNotification: subscribe,
    waitForNotification: (executionName, timeoutMs = 60_000) =>
      waitFor(
        () => notifications.find((n) => n.execution?.name === executionName),
        subscribe,
        timeoutMs,
        `the notification of ${executionName}`,
      ),
    exportDirFor: (assetId) => exported.get(assetId),
    stop: () => sink.stop(),
  };
}
