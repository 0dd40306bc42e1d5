/**
 * Queues, subscriptions and messages a user makes on the stack's SQS/SNS endpoint survive a SIGKILL of the whole
 * stack (its process group), as do the stack's own notifications: the stack runs as the CLI
 * (`secure-transcode up --fast`), the user is Debian's AWS CLI, and the stack starts again on the same data
 * directory.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { EndpointsJson } from '../../../local/stack/index.js';
import { awsCliEnv } from '../../support/credentials.js';
import { exited, startUp, stopUp, until } from '../../support/stack-process.js';

jest.setTimeout(180_000);

const run = promisify(execFile);

describe('user queues, subscriptions and messages across a SIGKILL of the stack', () => {
  let work: string;
  let dataDir: string;
  let child: ChildProcess | undefined;
  let config: EndpointsJson;
  const marker = randomUUID();
  let queueUrl = '';
  let subscriptionArn = '';
  let restoredQueues: string[] = [];
  let restoredSubscriptions: Array<Record<string, string>> = [];
  let received: string[] = [];
  let afterRestart: string[] = [];
  let foreignLines: string[] = [];

  const connect = async () => {
    const endpointsPath = join(dataDir, 'endpoints.json');
    await until('endpoints.json', 90_000, () => (existsSync(endpointsPath) ? true : undefined));
    config = JSON.parse(readFileSync(endpointsPath, 'utf8')) as EndpointsJson;
  };

  const aws = async (service: 'sqs' | 'sns', ...args: string[]) => {
    const env = awsCliEnv(work, config.credentials, config.region);
    const endpoint = config.endpoints[service];
    const { stdout } = await run(
      '/usr/bin/aws',
      ['--endpoint-url', endpoint, '--output', 'json', service, ...args],
      {
        env,
      },
    );
    return JSON.parse(stdout || '{}') as Record<string, unknown>;
  };

  const receiveAll = async (url: string, expected: number) => {
    const bodies: string[] = [];
    await until(`${expected} message(s) on ${url}`, 30_000, async () => {
      const out = await aws('sqs', 'receive-message', '--queue-url', url, '--max-number-of-messages', '10');
      for (const m of (out.Messages ?? []) as Array<{ Body: string; ReceiptHandle: string }>) {
        bodies.push(m.Body);
        await aws('sqs', 'delete-message', '--queue-url', url, '--receipt-handle', m.ReceiptHandle);
      }
      return bodies.length >= expected ? true : undefined;
    });
    return bodies;
  };

  beforeAll(async () => {
    // Prepare: what a user makes with the AWS CLI, each acknowledged before the kill.
    work = mkdtempSync(join(tmpdir(), 'st-queues-kill-'));
    dataDir = join(work, 'data');
    child = startUp(dataDir);
    await connect();
    queueUrl = String((await aws('sqs', 'create-queue', '--queue-name', 'user-queue')).QueueUrl);
    const queueArn = String(
      (
        (await aws('sqs', 'get-queue-attributes', '--queue-url', queueUrl, '--attribute-names', 'QueueArn'))
          .Attributes as Record<string, string>
      ).QueueArn,
    );
    const topicArn = String((await aws('sns', 'create-topic', '--name', 'user-topic')).TopicArn);
    subscriptionArn = String(
      (
        await aws(
          'sns',
          'subscribe',
          '--topic-arn',
          topicArn,
          '--protocol',
          'sqs',
          '--notification-endpoint',
          queueArn,
        )
      ).SubscriptionArn,
    );
    await aws('sqs', 'send-message', '--queue-url', queueUrl, '--message-body', `sent ${marker}`);
    await aws('sns', 'publish', '--topic-arn', topicArn, '--message', `published ${marker}`);
    // Act: a message on the stack's own notifications topic, and the kill right after its Publish is answered.
    await aws('sns', 'publish', '--topic-arn', config.topicArn, '--message', `foreign ${marker}`);
    process.kill(-(child.pid ?? 0), 'SIGKILL');
    await exited(child);

    // The killed stack's endpoints.json stays behind; wait for the new one.
    rmSync(join(dataDir, 'endpoints.json'), { force: true });
    child = startUp(dataDir);
    await connect();
    restoredQueues = ((await aws('sqs', 'list-queues')).QueueUrls ?? []) as string[];
    restoredSubscriptions = ((await aws('sns', 'list-subscriptions-by-topic', '--topic-arn', topicArn))
      .Subscriptions ?? []) as Array<Record<string, string>>;
    received = await receiveAll(queueUrl, 2);
    await aws('sns', 'publish', '--topic-arn', topicArn, '--message', `after ${marker}`);
    afterRestart = await receiveAll(queueUrl, 1);
    // Once the stack's notification queue is empty, every message on it has been recorded (or never will be).
    const notificationsQueue = String(
      (await aws('sqs', 'get-queue-url', '--queue-name', 'secure-transcode-notifications-local')).QueueUrl,
    );
    await until('an empty notifications queue', 60_000, async () => {
      const attrs = (
        await aws(
          'sqs',
          'get-queue-attributes',
          '--queue-url',
          notificationsQueue,
          '--attribute-names',
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
        )
      ).Attributes as Record<string, string>;
      return attrs.ApproximateNumberOfMessages === '0' && attrs.ApproximateNumberOfMessagesNotVisible === '0'
        ? true
        : undefined;
    });
    foreignLines = readFileSync(config.notificationsFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(`foreign ${marker}`));
  });

  afterAll(async () => {
    await stopUp(child);
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps the queue and the subscription the user created', () => {
    // Assess
    expect(restoredQueues).toContain(queueUrl.replace(/:\d+\//, `:${new URL(config.endpoints.sqs).port}/`));
    expect(restoredSubscriptions.map((s) => s.SubscriptionArn)).toEqual([subscriptionArn]);
  });

  it('delivers the sent and the published message after the restart, and new publishes through the subscription', () => {
    // Assess
    expect(received).toHaveLength(2);
    expect(received).toContain(`sent ${marker}`);
    const envelope = received.find((b) => b !== `sent ${marker}`) ?? '{}';
    expect((JSON.parse(envelope) as { Message?: string }).Message).toBe(`published ${marker}`);
    expect((JSON.parse(afterRestart[0] ?? '{}') as { Message?: string }).Message).toBe(`after ${marker}`);
  });

  it('records the message published to the stack topic at the kill exactly once in notifications.jsonl', () => {
    // Assess
    expect(foreignLines).toHaveLength(1);
    expect(JSON.parse(foreignLines[0] ?? '{}')).toMatchObject({ reason: 'not JSON' });
  });

  it('keeps the SQS and SNS state owner-only under the data directory', () => {
    // Assess
    expect(statSync(join(dataDir, 'queues')).mode & 0o777).toBe(0o700);
    expect(statSync(join(dataDir, 'queues', 'fauxqs.db')).mode & 0o777).toBe(0o600);
  });
});
