/**
 * The notification sink after a kill: a message whose line was written but which was never deleted comes back and
 * is not written twice, and a line cut short by the kill is dropped before anything is appended after it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SqsPoller } from '../../../local/lambda/index.js';
import { type S3Gateway, startS3Gateway } from '../../../local/s3/index.js';
import { type Notification, startNotificationSink } from '../../../local/stack/notifications.js';
import { dataDirCredentials } from '../../support/credentials.js';

const notification = (name: string) => ({
  version: '1.0',
  status: 'SUCCEEDED',
  execution: { name },
  source: { bucket: 'b', key: `incoming/${name}.mp4` },
  outputs: [],
  playlists: [],
});

describe('notification sink across a kill', () => {
  const { dataDir, credentials, auth } = dataDirCredentials();
  const file = join(dataDir, 'notifications.jsonl');
  let gateway: S3Gateway;
  let sqs: SQSClient;
  let sink: SqsPoller;
  const delivered: string[] = [];
  let lines: string[] = [];

  beforeAll(async () => {
    // Prepare: one notification recorded before the kill, and the start of a line the kill cut.
    const recorded = JSON.stringify(notification('recorded-before-kill'));
    writeFileSync(file, `${recorded}\n{"version":"1.0","status":"SUCC`);
    gateway = await startS3Gateway({ auth });
    sqs = new SQSClient({ endpoint: gateway.endpoint, region: 'us-east-1', credentials: { ...credentials } });
    const queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'sink' }))).QueueUrl ?? '';
    const queueArn =
      (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] })))
        .Attributes?.QueueArn ?? '';
    // Act: the recorded one comes back (never deleted), the cut one comes back, and a foreign message twice.
    for (const body of [
      recorded,
      JSON.stringify(notification('cut-by-kill')),
      'not a notification',
      'not a notification',
    ])
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    sink = startNotificationSink({
      sqs,
      queueUrl,
      queueArn,
      region: 'us-east-1',
      file,
      onNotification: (n: Notification) => delivered.push(n.execution.name),
    });
    const deadline = Date.now() + 20_000;
    while (delivered.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1500));
    lines = readFileSync(file, 'utf8').split('\n');
  });

  afterAll(async () => {
    await sink.stop();
    sqs.destroy();
    await gateway.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('hands every notification to its listeners, the one recorded before the kill included', () => {
    // Assess
    expect(delivered.sort()).toEqual(['cut-by-kill', 'recorded-before-kill']);
  });

  it('writes each message once and drops the cut line', () => {
    // Assess
    expect(lines.at(-1)).toBe('');
    const parsed = lines.filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.map((p) => (p.execution as { name?: string } | undefined)?.name ?? p.unparsable)).toEqual([
      'recorded-before-kill',
      'cut-by-kill',
      'not a notification',
    ]);
  });
});
