import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeEventBusCommand,
  EventBridgeClient,
  ListEventBusesCommand,
  PutEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-eventbridge';
import { type LocalEventBridge, startLocalEventBridge } from '../../../local/eventbridge/index.js';
import { type DataDirCredentials, dataDirCredentials, TEST_REGION } from '../../support/credentials.js';

const BUS = 'secure-transcode-local';

describe('local EventBridge endpoint', () => {
  let creds: DataDirCredentials;
  let bridge: LocalEventBridge;
  let client: EventBridgeClient;
  let eventsFile: string;

  beforeAll(async () => {
    creds = dataDirCredentials();
    eventsFile = join(creds.dataDir, 'events.jsonl');
    bridge = await startLocalEventBridge({ eventsFile, region: TEST_REGION, auth: creds.auth, buses: [BUS] });
    client = new EventBridgeClient({
      endpoint: bridge.endpoint,
      region: TEST_REGION,
      credentials: creds.credentials,
    });
  });

  afterAll(async () => {
    client.destroy();
    await bridge.stop();
    rmSync(creds.dataDir, { recursive: true, force: true });
  });

  it('appends each accepted event to events.jsonl in the shape a rule target receives', async () => {
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            Source: 'secure-transcode',
            DetailType: 'Asset Ready',
            Detail: '{"assetId":"a1"}',
            EventBusName: BUS,
          },
          { Source: 'secure-transcode', DetailType: 'Asset Ready', Detail: '[1]', EventBusName: BUS },
        ],
      }),
    );

    const lines = readFileSync(eventsFile, 'utf8').trim().split('\n');
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[1]?.ErrorCode).toBe('MalformedDetail');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      id: out.Entries?.[0]?.EventId,
      source: 'secure-transcode',
      'detail-type': 'Asset Ready',
      detail: { assetId: 'a1' },
      'event-bus-name': BUS,
      region: TEST_REGION,
    });
  });

  it('lists the default bus and the configured ones, and describes them by name', async () => {
    const listed = await client.send(new ListEventBusesCommand({}));
    const described = await client.send(new DescribeEventBusCommand({ Name: BUS }));

    expect(listed.EventBuses?.map((b) => b.Name)).toEqual(['default', BUS]);
    expect(described.Arn).toMatch(new RegExp(`:event-bus/${BUS}$`));
    await expect(client.send(new DescribeEventBusCommand({ Name: 'missing' }))).rejects.toThrow(
      ResourceNotFoundException,
    );
  });

  it('refuses a request signed with other credentials', async () => {
    const stranger = new EventBridgeClient({
      endpoint: bridge.endpoint,
      region: TEST_REGION,
      credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'not-the-stack-secret' },
    });

    await expect(stranger.send(new ListEventBusesCommand({}))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 403 },
    });
    stranger.destroy();
  });
});
