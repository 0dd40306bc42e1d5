import { rmSync } from 'node:fs';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SQSEvent } from 'aws-lambda';
import { type BatchReport, type SqsPollerOptions, startSqsPoller } from '../../../local/lambda/index.js';
import { type S3Gateway, startS3Gateway } from '../../../local/s3/index.js';
import { dataDirCredentials } from '../../support/credentials.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SQS event source poller', () => {
  let gateway: S3Gateway;
  let sqs: SQSClient;
  let queueCount = 0;

  const { dataDir, credentials, auth } = dataDirCredentials();

  beforeAll(async () => {
    gateway = await startS3Gateway({ auth });
    sqs = new SQSClient({
      endpoint: gateway.endpoint,
      region: 'us-east-1',
      credentials: { ...credentials },
    });
  });

  afterAll(async () => {
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function queuePair(maxReceiveCount: number) {
    queueCount += 1;
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `poller-dlq-${queueCount}` }));
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: `poller-${queueCount}`,
        Attributes: {
          VisibilityTimeout: '1',
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
        },
      }),
    );
    const queueArn = (
      await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
      )
    ).Attributes?.QueueArn;
    return { queueUrl: queue.QueueUrl ?? '', queueArn: queueArn ?? '', dlqUrl: dlq.QueueUrl ?? '' };
  }

  /** A poller on the queue with a one-second long poll, so that the tests' receives and retries come quickly. */
  function pollerOn(
    queueUrl: string,
    queueArn: string,
    lambda: Pick<SqsPollerOptions, 'invoke' | 'onBatch'>,
  ) {
    return startSqsPoller({ sqs, queueUrl, queueArn, region: 'us-east-1', waitTimeSeconds: 1, ...lambda });
  }

  async function send(queueUrl: string, bodies: string[]) {
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: b })),
      }),
    );
  }

  async function drain(queueUrl: string) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    return (out.Messages ?? []).map((m) => m.Body);
  }

  async function until(predicate: () => boolean, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  it('deletes the successes of a partial batch failure and redrives the failing message to the DLQ', async () => {
    // Prepare
    const { queueUrl, queueArn, dlqUrl } = await queuePair(2);
    const seen: string[] = [];
    const events: SQSEvent[] = [];
    const reports: BatchReport[] = [];
    await send(queueUrl, ['ok-1', 'poison', 'ok-2']);

    // Act
    const poller = pollerOn(queueUrl, queueArn, {
      onBatch: (r) => reports.push(r),
      invoke: async (event) => {
        events.push(event);
        seen.push(...event.Records.map((r) => r.body));
        return {
          batchItemFailures: event.Records.filter((r) => r.body === 'poison').map((r) => ({
            itemIdentifier: r.messageId,
          })),
        };
      },
    });
    await until(() => seen.filter((b) => b === 'poison').length === 2, 10_000);
    // One more visibility timeout: the third receive is where the queue moves it to the DLQ.
    await sleep(1500);
    await poller.stop();
    const dead = await drain(dlqUrl);
    const left = await drain(queueUrl);

    // Assess
    expect(seen.filter((b) => b.startsWith('ok')).sort()).toEqual(['ok-1', 'ok-2']);
    expect(seen.filter((b) => b === 'poison')).toHaveLength(2);
    expect(dead).toEqual(['poison']);
    expect(left).toEqual([]);
    expect(reports[0]).toMatchObject({ deleted: expect.any(Number), failed: [expect.any(String)] });
    expect(events[0]?.Records[0]).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
      attributes: { ApproximateReceiveCount: '1' },
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
  });

  it('retries the whole batch when the function throws', async () => {
    // Prepare
    const { queueUrl, queueArn } = await queuePair(5);
    const attempts: string[][] = [];
    await send(queueUrl, ['a', 'b']);

    // Act
    const poller = pollerOn(queueUrl, queueArn, {
      invoke: async (event) => {
        attempts.push(event.Records.map((r) => r.body).sort());
        if (attempts.length === 1) throw new Error('function crashed');
        return { batchItemFailures: [] };
      },
    });
    await until(() => attempts.length >= 2, 10_000);
    await poller.stop();
    const left = await drain(queueUrl);

    // Assess
    expect(attempts.slice(0, 2)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
    expect(left).toEqual([]);
  });

  it('treats an unknown itemIdentifier as a failure of the whole batch', async () => {
    // Prepare
    const { queueUrl, queueArn } = await queuePair(5);
    const reports: BatchReport[] = [];
    await send(queueUrl, ['x']);

    // Act
    const poller = pollerOn(queueUrl, queueArn, {
      onBatch: (r) => reports.push(r),
      invoke: async () =>
        reports.length === 0 ? { batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] } : {},
    });
    await until(() => reports.length >= 2, 10_000);
    await poller.stop();

    // Assess
    expect(reports[0]).toMatchObject({
      received: 1,
      deleted: 0,
      error: expect.stringContaining('batchItemFailures'),
    });
    expect(reports[1]).toMatchObject({ received: 1, deleted: 1, failed: [] });
  });
});
