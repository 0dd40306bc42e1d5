import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { loadEvent } from '../../../support/events.js';

const sfnMock = mockClient(SFNClient);
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:secure-transcode-test';
let handler: (e: SQSEvent, c: Context) => Promise<SQSBatchResponse>;

beforeAll(async () => {
  process.env.STATE_MACHINE_ARN = STATE_MACHINE_ARN;
  process.env.INPUT_PREFIX = 'incoming/';
  process.env.SOURCE_BUCKETS = 'media-bucket';
  process.env.LOG_LEVEL = 'SILENT';
  ({ handler } = (await import('../../../../functions/starter/handler.js')) as unknown as {
    handler: typeof handler;
  });
});

beforeEach(() => {
  sfnMock.reset();
});

const ctx = {} as Context;

describe('starter', () => {
  it('starts one execution with the decoded key (plus as space, %2B as plus, unicode, ampersand)', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${STATE_MACHINE_ARN}:x`, startDate: new Date() });
    const event = loadEvent<SQSEvent>('sqs/s3-put.json');
    // Act
    const out = await handler(event, ctx);
    // Assess
    expect(out.batchItemFailures).toEqual([]);
    expect(sfnMock).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const call = sfnMock.commandCalls(StartExecutionCommand)[0];
    const input = JSON.parse(call?.args[0].input.input ?? '{}');
    expect(input.source).toEqual({
      bucket: 'media-bucket',
      key: 'incoming/My Holiday été & more+1.MP4',
      versionId: '3HL4kqtJlcpXroDTDmjVBH40Nrjfkd',
      sequencer: '0055AED6DCD90281E5',
      etag: 'd41d8cd98f00b204e9800998ecf8427e',
      eventName: 'ObjectCreated:Put',
    });
    expect(input.profile).toBe('default');
    expect(call?.args[0].input.name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });

  it('gives duplicate deliveries the same execution name and input', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
    // Act
    await handler(loadEvent<SQSEvent>('sqs/s3-put.json'), ctx);
    await handler(loadEvent<SQSEvent>('sqs/s3-put.json'), ctx);
    // Assess
    const [a, b] = sfnMock.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(a?.name).toBe(b?.name);
    expect(a?.input).toBe(b?.input);
  });

  it('counts ExecutionAlreadyExists as success', async () => {
    // Prepare
    sfnMock
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    // Act
    const out = await handler(loadEvent<SQSEvent>('sqs/s3-put.json'), ctx);
    // Assess
    expect(out.batchItemFailures).toEqual([]);
  });

  it('routes a multipart upload under a profile folder to that profile', async () => {
    // Prepare
    sfnMock.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
    // Act
    await handler(loadEvent<SQSEvent>('sqs/s3-multipart.json'), ctx);
    // Assess
    const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '{}');
    expect(input.profile).toBe('ctr');
    expect(input.source.key).toBe('incoming/ctr/big file.mov');
    expect(input.source.eventName).toBe('ObjectCreated:CompleteMultipartUpload');
  });

  it('reports an unparseable message as a batch item failure so redrive can move it to the DLQ', async () => {
    // Act
    const out = await handler(loadEvent<SQSEvent>('sqs/invalid-body.json'), ctx);
    // Assess
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: '1a2b3c4d-0000-4000-8000-000000000006' }]);
  });

  it('fails only the message whose StartExecution failed', async () => {
    // Prepare
    const good = loadEvent<SQSEvent>('sqs/s3-put.json');
    const bad = loadEvent<SQSEvent>('sqs/s3-multipart.json');
    const event: SQSEvent = { Records: [...good.Records, ...bad.Records] };
    sfnMock
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: 'arn:x', startDate: new Date() })
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    // Act
    const out = await handler(event, ctx);
    // Assess
    expect(out.batchItemFailures).toEqual([{ itemIdentifier: bad.Records[0]?.messageId }]);
  });
});
