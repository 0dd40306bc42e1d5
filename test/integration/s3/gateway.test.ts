import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { FaultInjector } from '../../../local/faults.js';
import type { ObjectCreatedEvent, S3Gateway } from '../../../local/s3/index.js';
import { clientFor, gatewayCredentials, startTestGateway } from '../../support/gateway.js';

const MiB = 1024 * 1024;

describe('local S3 gateway (real HTTP on 127.0.0.1)', () => {
  const faults = new FaultInjector();
  const events: ObjectCreatedEvent[] = [];
  let gateway: S3Gateway;
  let s3: S3Client;

  beforeAll(async () => {
    ({ gateway, s3 } = await startTestGateway(['media'], faults));
    gateway.onObjectCreated((e) => events.push(e));
  });
  afterAll(async () => {
    await gateway.stop();
  });
  beforeEach(() => {
    faults.clear();
    events.length = 0;
  });

  it('lists multipart parts page by page, keeps the latest upload of a part number and forgets completed uploads', async () => {
    // Prepare
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'media', Key: 'mp/parts' }),
    );
    const body = (n: number, size: number) => Buffer.alloc(size, n);
    for (const n of [1, 2, 3, 4, 5]) {
      await s3.send(
        new UploadPartCommand({
          Bucket: 'media',
          Key: 'mp/parts',
          UploadId,
          PartNumber: n,
          Body: body(n, n === 5 ? 7 : 10),
        }),
      );
    }
    await s3.send(
      new UploadPartCommand({ Bucket: 'media', Key: 'mp/parts', UploadId, PartNumber: 2, Body: body(9, 12) }),
    );
    // Act
    const pages = [];
    let marker: string | undefined;
    do {
      const page = await s3.send(
        new ListPartsCommand({
          Bucket: 'media',
          Key: 'mp/parts',
          UploadId,
          MaxParts: 2,
          PartNumberMarker: marker,
        }),
      );
      pages.push(page.Parts?.map((p) => [p.PartNumber, p.Size]));
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'media', Key: 'mp/parts', UploadId }));
    const afterAbort = s3.send(new ListPartsCommand({ Bucket: 'media', Key: 'mp/parts', UploadId }));
    // Assess
    expect(pages).toEqual([
      [
        [1, 10],
        [2, 12],
      ],
      [
        [3, 10],
        [4, 10],
      ],
      [[5, 7]],
    ]);
    await expect(afterAbort).rejects.toMatchObject({ name: 'NoSuchUpload' });
  });

  it('lists open multipart uploads until they complete', async () => {
    // Prepare
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'media', Key: 'mp/open' }));
    const part = await s3.send(
      new UploadPartCommand({
        Bucket: 'media',
        Key: 'mp/open',
        UploadId,
        PartNumber: 1,
        Body: Buffer.alloc(6 * MiB, 1),
      }),
    );
    // Act
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'media', Prefix: 'mp/open' }));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'media',
        Key: 'mp/open',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'media', Prefix: 'mp/open' }));
    // Assess
    expect(open.Uploads?.map((u) => u.UploadId)).toEqual([UploadId]);
    expect(after.Uploads ?? []).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        bucket: 'media',
        key: 'mp/open',
        size: 6 * MiB,
        eventName: 'ObjectCreated:CompleteMultipartUpload',
      }),
    ]);
  });

  it('fires ObjectCreated for put, copy and complete with increasing sequencers', async () => {
    // Prepare
    const key = 'incoming/with space+plus&amp.mp4';
    // Act
    const put = await s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: 'hello' }));
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'media',
        Key: 'copies/a.mp4',
        CopySource: `media/${encodeURIComponent(key)}`,
      }),
    );
    // Assess
    expect(events.map((e) => [e.eventName, e.key, e.size])).toEqual([
      ['ObjectCreated:Put', key, 5],
      ['ObjectCreated:Copy', 'copies/a.mp4', 5],
    ]);
    expect(events[0]?.etag).toBe(put.ETag);
    expect((events[0]?.sequencer ?? '') < (events[1]?.sequencer ?? '')).toBe(true);
  });

  it('announces and serves a key with dot-dot segments exactly as stored', async () => {
    // Prepare
    const key = 'incoming/a/../b.mp4';
    // Act
    await s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: 'dots' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: 'media', Key: key }));
    const normalised = await s3
      .send(new HeadObjectCommand({ Bucket: 'media', Key: 'incoming/b.mp4' }))
      .catch((e: { name?: string }) => e.name);
    // Assess
    expect(events.map((e) => [e.eventName, e.key])).toEqual([['ObjectCreated:Put', key]]);
    expect(await got.Body?.transformToString()).toBe('dots');
    expect(normalised).toBe('NotFound');
  });

  it('stores a 12 MiB single PUT and a zero-byte object and reads both back', async () => {
    // Prepare
    const body = Buffer.alloc(12 * MiB, 7);
    body.write('head', 0);
    // Act
    await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'large/one', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'folder/', Body: Buffer.alloc(0) }));
    const large = await s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'large/one' }));
    const empty = await s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'folder/' }));
    // Assess
    expect(Buffer.from((await large.Body?.transformToByteArray()) ?? []).equals(body)).toBe(true);
    expect(empty.ContentLength).toBe(0);
    expect(await empty.Body?.transformToString()).toBe('');
  });

  it('answers HEAD with If-Match for another ETag with 412, as S3 does', async () => {
    // Prepare
    const put = await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'pinned', Body: 'v1' }));
    // Act
    const same = await s3.send(new HeadObjectCommand({ Bucket: 'media', Key: 'pinned', IfMatch: put.ETag }));
    const other = s3.send(
      new HeadObjectCommand({ Bucket: 'media', Key: 'pinned', IfMatch: '"0123456789abcdef"' }),
    );
    // Assess
    expect(same.ETag).toBe(put.ETag);
    await expect(other).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
  });

  it('stores tags beside the object instead of overwriting it', async () => {
    // Prepare
    await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'tagged', Body: 'payload' }));
    // Act
    await s3.send(
      new PutObjectTaggingCommand({
        Bucket: 'media',
        Key: 'tagged',
        Tagging: { TagSet: [{ Key: 'k', Value: 'a&b' }] },
      }),
    );
    const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: 'media', Key: 'tagged' }));
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'tagged' }))
    ).Body?.transformToString();
    // Assess
    expect(tags.TagSet).toEqual([{ Key: 'k', Value: 'a&b' }]);
    expect(body).toBe('payload');
  });

  it('passes ranges and If-Match through to the store', async () => {
    // Prepare
    const put = await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'ranged', Body: '0123456789' }));
    // Act
    const range = await s3.send(
      new GetObjectCommand({ Bucket: 'media', Key: 'ranged', Range: 'bytes=2-5', IfMatch: put.ETag }),
    );
    const stale = s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'ranged', IfMatch: '"0000"' }));
    // Assess
    expect(await range.Body?.transformToString()).toBe('2345');
    await expect(stale).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
  });

  it.each([
    ['slowdown', 'SlowDown', 503],
    ['throttle', 'SlowDown', 503],
    ['internal', 'InternalError', 500],
  ] as const)('injects %s as the S3 %s error', async (kind, name, status) => {
    // Prepare
    faults.add({ service: 's3', operation: 'PutObject', kind, schedule: [1] });
    const once = clientFor(gateway, 1);
    // Act
    const put = once.send(new PutObjectCommand({ Bucket: 'media', Key: 'faulty', Body: 'x' }));
    // Assess
    await expect(put).rejects.toMatchObject({ name, $metadata: { httpStatusCode: status } });
  });

  it('resets the connection for a reset fault and the SDK retry then succeeds', async () => {
    // Prepare
    faults.add({ service: 's3', operation: 'GetObject', kind: 'reset', schedule: [1] });
    await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'reset-me', Body: 'still here' }));
    const injectedBefore = faults.totalInjected();
    // Act
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: 'media', Key: 'reset-me' }))
    ).Body?.transformToString();
    // Assess
    expect(body).toBe('still here');
    expect(faults.totalInjected() - injectedBefore).toBe(1);
  });

  it('serves SQS and SNS on the same endpoint', async () => {
    // Prepare
    const config = {
      endpoint: gateway.endpoint,
      region: 'us-east-1',
      credentials: gatewayCredentials(gateway),
    };
    const sqs = new SQSClient(config);
    const sns = new SNSClient(config);
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'gateway-test' }));
    const { topicArn } = gateway.fauxqs.createTopic('gateway-topic');
    gateway.fauxqs.subscribe({
      topic: 'gateway-topic',
      queue: 'gateway-test',
      attributes: { RawMessageDelivery: 'true' },
    });
    // Act
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'direct' }));
    await sns.send(new PublishCommand({ TopicArn: topicArn, Message: 'fan-out' }));
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    // Assess
    expect(received.Messages?.map((m) => m.Body).sort()).toEqual(['direct', 'fan-out']);
  });

  it('verifies SDK signatures over awkward keys and listing prefixes', async () => {
    // Prepare
    const keys = [
      'incoming/a b+c&d%e=f.mp4',
      'incoming/ünï cødé/~*(x)!.mov',
      `incoming/${'long-name-'.repeat(100)}.mp4`,
    ];

    // Act
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: key }));
    const bodies = await Promise.all(
      keys.map(async (key) =>
        (await s3.send(new GetObjectCommand({ Bucket: 'media', Key: key }))).Body?.transformToString(),
      ),
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'media', Prefix: 'incoming/ünï cødé/' }));

    // Assess
    expect(bodies).toEqual(keys);
    expect(listed.Contents?.map((c) => c.Key)).toEqual([keys[1]]);
  });

  it("answers requests to fauxqs's own port only when they come through the gateway", async () => {
    // Prepare
    const direct = `http://127.0.0.1:${gateway.fauxqs.port}`;
    await s3.send(new PutObjectCommand({ Bucket: 'media', Key: 'private.txt', Body: 'secret' }));

    // Act
    const object = await fetch(`${direct}/media/private.txt`);
    const queues = await fetch(direct, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
      body: '{}',
    });

    // Assess
    expect([object.status, queues.status]).toEqual([403, 403]);
  });
});
