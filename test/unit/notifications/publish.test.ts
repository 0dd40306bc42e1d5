import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { mockClient } from 'aws-sdk-client-mock';
import { NotificationPublishError } from '../../../lib/errors.js';
import { buildNotification, describeError } from '../../../lib/notifications/contract.js';
import { publishNotification } from '../../../lib/notifications/publish.js';
import { projectRoot } from '../../support/events.js';
import { sampleAsset, sampleEncrypted, sampleExecution, sampleSource } from '../../support/state.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const validate = ajv.compile(
  JSON.parse(readFileSync(join(projectRoot, 'schemas/notification.v1.schema.json'), 'utf8')),
);

const snsMock = mockClient(SNSClient);
const ebMock = mockClient(EventBridgeClient);
const clients = {
  sns: new SNSClient({ region: 'us-east-1' }),
  eventBridge: new EventBridgeClient({ region: 'us-east-1' }),
};
const target = { topicArn: 'arn:aws:sns:us-east-1:123456789012:t', eventBusName: 'bus' };

const success = () => ({
  source: sampleSource(),
  profile: 'default',
  execution: sampleExecution(),
  asset: sampleAsset(),
  encrypted: sampleEncrypted(),
  job: {
    backend: 'elastictranscoder' as const,
    id: '1700000000000-abcdef',
    status: 'Complete' as const,
    outputs: [
      {
        key: 'outputs/x/hls-400k.m3u8',
        presetId: '1351620000001-200050',
        durationMillis: 4000,
        width: 400,
        height: 224,
        fileSize: 99,
      },
    ],
    playlists: [{ key: 'outputs/x/index.m3u8', format: 'HLSv3' }],
  },
});

beforeEach(() => {
  snsMock.reset();
  ebMock.reset();
});

describe('the notification contract', () => {
  it('builds a success message that validates against the JSON Schema', () => {
    // Act
    const n = buildNotification(success(), { keyServiceUrl: 'https://keys.example.com' });
    // Assess
    expect(validate(n)).toBe(true);
    expect(n.status).toBe('SUCCEEDED');
    expect(n.playback).toEqual({
      assetId: sampleAsset().assetId,
      keyUrl: `https://keys.example.com/keys/${sampleAsset().assetId}`,
      masterPlaylist: 'outputs/x/index.m3u8',
    });
  });

  it('builds a failure message with code, message and step that validates against the schema', () => {
    // Act
    const n = buildNotification(
      {
        source: { bucket: 'media-bucket', key: 'incoming/empty.mp4' },
        profile: 'default',
        execution: sampleExecution(),
        error: {
          Error: 'SourceEmptyError',
          Cause: JSON.stringify({
            errorType: 'SourceEmptyError',
            errorMessage: 'Source is empty (0 bytes)',
            trace: ['at x'],
          }),
        },
        failedStep: 'ValidateSource',
      },
      { keyServiceUrl: 'https://keys.example.com' },
    );
    // Assess
    expect(validate(n)).toBe(true);
    expect(n.error).toEqual({
      code: 'SourceEmptyError',
      message: 'Source is empty (0 bytes)',
      step: 'ValidateSource',
    });
    expect(n.outputs).toEqual([]);
  });

  it('rejects a failure message without an error (schema has teeth)', () => {
    // Prepare
    const n = { ...buildNotification(success(), { keyServiceUrl: 'https://k' }), status: 'FAILED' };
    // Assess
    expect(validate(n)).toBe(false);
  });

  it('keeps the bare cause when it is not Lambda JSON', () => {
    // Assess
    expect(describeError({ Error: 'States.Timeout', Cause: 'Task timed out' })).toEqual({
      code: 'States.Timeout',
      message: 'Task timed out',
    });
  });
});

describe('publishNotification', () => {
  it('publishes to SNS with filterable attributes and to EventBridge with the status detail-type', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const n = buildNotification(success(), { keyServiceUrl: 'https://k' });
    // Act
    const out = await publishNotification(n, target, clients);
    // Assess
    expect(out.messageId).toBe('m-1');
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: target.topicArn,
      MessageAttributes: {
        status: { DataType: 'String', StringValue: 'SUCCEEDED' },
        profile: { DataType: 'String', StringValue: 'default' },
      },
    });
    expect(ebMock).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [
        expect.objectContaining({
          Source: 'secure-transcode',
          DetailType: 'Transcode Succeeded',
          EventBusName: 'bus',
        }),
      ],
    });
  });

  it('fails (retryably) when EventBridge rejects the entry inside a 200 response', async () => {
    // Prepare
    snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
    ebMock
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] });
    // Act
    const p = publishNotification(
      buildNotification(success(), { keyServiceUrl: 'https://k' }),
      target,
      clients,
    );
    // Assess
    await expect(p).rejects.toThrow(NotificationPublishError);
  });

  it('fails retryably when SNS is unavailable', async () => {
    // Prepare
    snsMock.on(PublishCommand).rejects(
      Object.assign(new Error('down'), {
        name: 'InternalErrorException',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    // Act
    const p = publishNotification(
      buildNotification(success(), { keyServiceUrl: 'https://k' }),
      target,
      clients,
    );
    // Assess
    await expect(p).rejects.toThrow(NotificationPublishError);
  });
});
