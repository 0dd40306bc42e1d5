/**
 * A local stand-in for Lambda's SQS event source mapping with `ReportBatchItemFailures`: long-polls batches of up
 * to 10, hands them to the function as an `SQSEvent`, deletes what succeeded and leaves the rest to reappear after
 * the queue's visibility timeout. The queue's own RedrivePolicy moves a message to the DLQ once it has been received
 * more than `maxReceiveCount` times — the poller never decides that itself, exactly as in AWS.
 *
 * Response semantics follow the Lambda documentation: a thrown error, or a `batchItemFailures` entry whose
 * `itemIdentifier` is empty or not in the batch, fails the whole batch; an empty list or no response succeeds it.
 */
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

export interface SqsPollerOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  region: string;
  invoke: (event: SQSEvent) => Promise<unknown>;
  batchSize?: number;
  /** Long-poll duration; stop() aborts a pending poll, so this does not delay shutdown. */
  waitTimeSeconds?: number;
  onBatch?: (report: BatchReport) => void;
  onError?: (error: unknown) => void;
}

export interface BatchReport {
  received: number;
  deleted: number;
  failed: string[];
  /** Set when the function threw or answered with an invalid response (the whole batch is retried). */
  error?: string;
}

export interface SqsPoller {
  stop(): Promise<void>;
  /** Batches handled so far. */
  readonly batches: number;
}

function toRecord(m: Message, queueArn: string, region: string): SQSRecord {
  const attributes = (m.Attributes ?? {}) as Record<string, string>;
  return {
    messageId: m.MessageId ?? '',
    receiptHandle: m.ReceiptHandle ?? '',
    body: m.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...attributes,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([name, v]) => [
        name,
        {
          stringValue: v.StringValue,
          binaryValue: v.BinaryValue ? Buffer.from(v.BinaryValue).toString('base64') : undefined,
          stringListValues: v.StringListValues ?? [],
          binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
          dataType: v.DataType ?? 'String',
        },
      ]),
    ),
    md5OfBody: m.MD5OfBody ?? '',
    ...(m.MD5OfMessageAttributes ? { md5OfMessageAttributes: m.MD5OfMessageAttributes } : {}),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** The message ids to keep; `undefined` means "the whole batch failed". */
function failedIds(response: unknown, ids: Set<string>): string[] | undefined {
  if (response === null || response === undefined) return [];
  const failures = (response as Partial<SQSBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return [];
  if (!Array.isArray(failures)) return undefined;
  const out: string[] = [];
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown })?.itemIdentifier;
    if (typeof id !== 'string' || !ids.has(id)) return undefined;
    out.push(id);
  }
  return out;
}

export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const batchSize = options.batchSize ?? 10;
  const waitTimeSeconds = options.waitTimeSeconds ?? 5;
  let running = true;
  let batches = 0;
  let poll: AbortController | undefined;

  const handleBatch = async (messages: Message[]): Promise<BatchReport> => {
    const records = messages.map((m) => toRecord(m, options.queueArn, options.region));
    const ids = new Set(records.map((r) => r.messageId));
    let keep: string[] | undefined;
    let error: string | undefined;
    try {
      keep = failedIds(await options.invoke({ Records: records }), ids);
      if (keep === undefined) error = 'invalid batchItemFailures in the function response';
    } catch (e) {
      error = (e as Error)?.message ?? String(e);
    }
    const failed = keep ?? [...ids];
    const done = records.filter((r) => !failed.includes(r.messageId));
    if (done.length > 0) {
      await options.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: done.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })),
        }),
      );
    }
    return { received: records.length, deleted: done.length, failed, ...(error ? { error } : {}) };
  };

  const loop = (async () => {
    while (running) {
      poll = new AbortController();
      try {
        const out = await options.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: batchSize,
            WaitTimeSeconds: waitTimeSeconds,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: poll.signal },
        );
        if (!out.Messages?.length) continue;
        const report = await handleBatch(out.Messages);
        batches += 1;
        options.onBatch?.(report);
      } catch (e) {
        if (!running) break;
        options.onError?.(e);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  })();

  return {
    get batches() {
      return batches;
    },
    async stop() {
      running = false;
      poll?.abort();
      await loop;
    },
  };
}
