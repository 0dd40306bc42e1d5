/**
 * Whole paths through statemachines/transcode.asl.json on aws-local-stepfunctions, with the real handler modules
 * (resolved through serverless.yml) and mocked AWS clients. Every state's input and output is scanned for the
 * plaintext keys.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CancelJobCommand,
  CreateJobCommand,
  ElasticTranscoderClient,
  ListJobsByPipelineCommand,
  ReadJobCommand,
} from '@aws-sdk/client-elastic-transcoder';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Context } from 'aws-lambda';
import { StateMachine } from 'aws-local-stepfunctions';
import { mockClient } from 'aws-sdk-client-mock';
import { parse } from 'yaml';
import { projectRoot } from '../../support/events.js';
import { FAKE_KEY_ARN, type FakeKms, FakeS3 } from '../../support/fake-aws.js';
import { installKeyRing } from '../../support/key-ring.js';
import { opensslDecrypt } from '../../support/openssl.js';
import { PLAYBACK_KEY_ARN } from '../../support/state.js';

const s3Mock = mockClient(S3Client);
const kmsMock = mockClient(KMSClient);
const etMock = mockClient(ElasticTranscoderClient);
const snsMock = mockClient(SNSClient);
const ebMock = mockClient(EventBridgeClient);

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const validateNotification = ajv.compile(
  JSON.parse(readFileSync(join(projectRoot, 'schemas/notification.v1.schema.json'), 'utf8')),
);

const BUCKET = 'media-bucket';
const definition = JSON.parse(readFileSync(join(projectRoot, 'statemachines/transcode.asl.json'), 'utf8'));
const functions = (
  parse(readFileSync(join(projectRoot, 'serverless.yml'), 'utf8')) as {
    functions: Record<string, { handler: string; timeout?: number }>;
  }
).functions;
type Handler = (event: unknown, context: Context) => Promise<unknown>;
const handlers: Record<string, (input: unknown) => Promise<never>> = {};
let fakeS3: FakeS3;
let fakeKms: FakeKms;
let readJobAnswers: Array<Record<string, unknown>>;

beforeAll(async () => {
  Object.assign(process.env, {
    LOG_LEVEL: 'SILENT',
    KMS_KEY_ID: 'alias/secure-transcode',
    PLAYBACK_KMS_KEY_ID: 'alias/secure-transcode-playback',
    PIPELINE_ID: '1111111111111-abcdef',
    KEY_SERVICE_URL: 'https://keys.example.com',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:notifications',
    EVENT_BUS_NAME: 'secure-transcode',
    // These paths check the encrypted copy against the wrapped key the notification carries: a deployment that
    // opted in (test/unit/notification-contract.test.ts covers the default, which leaves it out).
    NOTIFY_INCLUDE_WRAPPED_KEY: 'true',
    PART_SIZE_MIB: '5',
    TIME_BUDGET_MARGIN_MS: '0',
    POLL_INITIAL_SECONDS: '1',
    POLL_DEADLINE_SECONDS: '2',
    AWS_REGION: 'us-east-1',
  });
  for (const [stateName, state] of Object.entries(
    definition.States as Record<string, { Type: string; Resource?: { 'Fn::GetAtt': [string] } }>,
  )) {
    if (state.Type !== 'Task') continue;
    const fn = functions[state.Resource?.['Fn::GetAtt'][0] ?? ''];
    if (!fn) throw new Error(`no function for ${stateName}`);
    const module = (await import(join(projectRoot, `${fn.handler.replace(/\.handler$/, '')}.ts`))) as {
      handler: Handler;
    };
    const timeoutMs = (fn.timeout ?? 6) * 1000;
    handlers[stateName] = async (input) => {
      const started = Date.now();
      const context = {
        getRemainingTimeInMillis: () => timeoutMs - (Date.now() - started),
        functionName: stateName,
        awsRequestId: 'req',
      } as unknown as Context;
      return (await module.handler(input, context)) as never;
    };
  }
});

it('loads a handler for each of the eleven Task states', () => {
  // Assess
  expect(Object.keys(handlers)).toHaveLength(11);
});

beforeEach(() => {
  for (const m of [s3Mock, kmsMock, etMock, snsMock, ebMock]) m.reset();
  fakeS3 = new FakeS3();
  fakeS3.install(s3Mock);
  fakeKms = installKeyRing(kmsMock);
  readJobAnswers = [{ Status: 'Progressing' }, { Status: 'Complete' }];
  etMock.on(ListJobsByPipelineCommand).resolves({ Jobs: [] });
  etMock.on(CreateJobCommand).callsFake(async (i) => ({
    Job: { Id: '1700000000000-abcdef', Status: 'Submitted', OutputKeyPrefix: i.OutputKeyPrefix },
  }));
  etMock.on(ReadJobCommand).callsFake(async () => {
    const answer = readJobAnswers.length > 1 ? readJobAnswers.shift() : readJobAnswers[0];
    return {
      Job: {
        Id: '1700000000000-abcdef',
        OutputKeyPrefix: 'outputs/x/',
        Outputs: [
          {
            Key: 'hls-400k',
            PresetId: '1351620000001-200050',
            SegmentDuration: '6',
            Status: answer?.Status,
            StatusDetail: answer?.StatusDetail,
            DurationMillis: 4000,
            Width: 400,
            Height: 224,
            FileSize: 999,
          },
        ],
        Playlists: [{ Name: 'index', Format: 'HLSv3' }],
        ...answer,
      },
    };
  });
  etMock.on(CancelJobCommand).resolves({});
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  ebMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
});

interface RunOutcome {
  status: 'SUCCEEDED' | 'FAILED';
  events: Array<{
    type: string;
    state?: { name: string; input?: unknown; output?: unknown };
    Error?: string;
    Cause?: unknown;
  }>;
  notification: Record<string, unknown> & {
    status: string;
    error?: { code: string; step: string; message: string };
  };
}

async function run(key: string, body: Buffer, profile = 'default', publishAttempts = 1): Promise<RunOutcome> {
  fakeS3.put(BUCKET, key, body);
  const sm = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const execution = sm.run(
    { source: { bucket: BUCKET, key, sequencer: '00A1' }, profile, requestedAt: '2026-11-24T06:00:00.000Z' },
    {
      overrides: {
        taskResourceLocalHandlers: handlers as never,
        waitTimeOverrides: { WaitForJob: 100 },
        retryIntervalOverrides: Object.fromEntries(Object.keys(handlers).map((k) => [k, 0])),
      },
      context: {
        Execution: { Id: 'arn:aws:states:us-east-1:123456789012:execution:sm:exec-1', Name: 'exec-1' },
      } as never,
    },
  );
  const events: RunOutcome['events'] = [];
  const collect = (async () => {
    for await (const e of execution.eventLogs) events.push(e as never);
  })();
  const status = await execution.result.then(
    () => 'SUCCEEDED' as const,
    () => 'FAILED' as const,
  );
  await collect;
  const published = snsMock.commandCalls(PublishCommand);
  expect(published).toHaveLength(publishAttempts);
  const notification = JSON.parse(published[0]?.args[0].input.Message ?? '{}');
  return { status, events, notification };
}

function expectNoPlaintextKeys(outcome: RunOutcome, keysGenerated = true): void {
  const secrets = fakeKms.secretForms();
  expect(secrets.length > 0).toBe(keysGenerated);
  const haystack = [
    JSON.stringify(outcome.events),
    JSON.stringify(outcome.notification),
    JSON.stringify([...fakeS3.objects.values()].map((o) => o.metadata)),
    JSON.stringify(etMock.commandCalls(CreateJobCommand).map((c) => c.args[0].input)),
  ].join('\n');
  for (const secret of secrets) expect(haystack.includes(secret)).toBe(false);
}

const openUploads = () => fakeS3.uploads.size;
const objectKeys = () => [...fakeS3.objects.keys()].sort();

describe('the transcode state machine', () => {
  it('walks the happy path: encrypted copy is openssl-compatible, one job, one schema-valid success notification, no key leaks', async () => {
    // Prepare
    const body = randomBytes(11 * 1024 * 1024 + 7);
    // Act
    const outcome = await run('incoming/show/ep 1 & é.mp4', body);
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(validateNotification(outcome.notification)).toBe(true);
    expect(outcome.notification.status).toBe('SUCCEEDED');
    expect(etMock).toHaveReceivedCommandTimes(CreateJobCommand, 1);
    expect(ebMock).toHaveReceivedCommandTimes(PutEventsCommand, 1);
    const encrypted = outcome.notification.encrypted as {
      key: string;
      initializationVector: string;
      wrappedKey: string;
    };
    const stored = fakeS3.get(BUCKET, encrypted.key);
    expect(stored?.metadata['st-wrapped-key'] ?? Object.values(stored?.metadata ?? {}).join()).toContain(
      encrypted.wrappedKey.slice(0, 20),
    );
    const key = fakeKms.plaintexts.get(encrypted.wrappedKey)?.key ?? Buffer.alloc(0);
    const iv = Buffer.from(encrypted.initializationVector, 'base64');
    expect(key).toHaveLength(16);
    const plain = opensslDecrypt('aes-cbc-pkcs7', key, iv, stored?.body ?? Buffer.alloc(0));
    expect(plain.equals(body)).toBe(true);
    expect(openUploads()).toBe(0);
    expect(fakeS3.get(BUCKET, 'incoming/show/ep 1 & é.mp4')).toBeUndefined();
    expect((outcome.notification.source as { retention?: unknown }).retention).toEqual({
      policy: 'delete',
      deleted: true,
      versionId: null,
    });
    expectNoPlaintextKeys(outcome);
  });

  it('publishes the playback key in the asset record only as its two playback-key copies of that asset', async () => {
    // Act
    const outcome = await run('incoming/keys/clip.mp4', randomBytes(1000));
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    const recordKeys = objectKeys().filter((k) => /\/assets\/[^/]+\.json$/.test(k));
    expect(recordKeys).toHaveLength(1);
    type Copy = { wrappedKey: string; kmsKeyId: string; encryptionContext: Record<string, string> };
    const record = JSON.parse(fakeS3.objects.get(recordKeys[0] ?? '')?.body.toString('utf8') ?? '{}') as {
      assetId: string;
      playbackKey: Copy;
      spekeKey: Copy;
    };
    expect(record.playbackKey).toMatchObject({
      kmsKeyId: PLAYBACK_KEY_ARN,
      encryptionContext: { service: 'key-service.secure-transcode', assetId: record.assetId },
    });
    expect(record.spekeKey).toMatchObject({
      kmsKeyId: PLAYBACK_KEY_ARN,
      encryptionContext: { service: 'speke-key-provider.secure-transcode', assetId: record.assetId },
    });
    // The transcoder's HLS key (workflow key, Elastic Transcoder context) and both record copies wrap one plaintext …
    const hls = etMock.commandCalls(CreateJobCommand)[0]?.args[0].input.Playlists?.[0]?.HlsContentProtection;
    const et = { service: 'elastictranscoder.amazonaws.com' };
    const hlsKey = fakeKms.decrypt(hls?.Key ?? '', et);
    const open = (c: Copy) => fakeKms.decrypt(c.wrappedKey, c.encryptionContext, PLAYBACK_KEY_ARN);
    expect(open(record.playbackKey).equals(hlsKey)).toBe(true);
    expect(open(record.spekeKey).equals(hlsKey)).toBe(true);
    // … but a record copy opens under no other context and no other KMS key.
    expect(() => fakeKms.decrypt(record.playbackKey.wrappedKey, et)).toThrow('InvalidCiphertextException');
    expect(() =>
      fakeKms.decrypt(record.playbackKey.wrappedKey, {
        service: 'key-service.secure-transcode',
        assetId: 'b'.repeat(24),
      }),
    ).toThrow('InvalidCiphertextException');
    expect(() =>
      fakeKms.decrypt(record.playbackKey.wrappedKey, record.playbackKey.encryptionContext, FAKE_KEY_ARN),
    ).toThrow('IncorrectKeyException');
    // Nothing is ReEncrypted into the playback key from another key, and the source key is never ReEncrypted.
    const encrypted = outcome.notification.encrypted as { wrappedKey: string };
    const reEncrypts = kmsMock.commandCalls(ReEncryptCommand).map((c) => c.args[0].input);
    expect(reEncrypts).toHaveLength(2);
    for (const r of reEncrypts) {
      expect(r.SourceKeyId).toBe(PLAYBACK_KEY_ARN);
      expect(Buffer.from(r.CiphertextBlob ?? []).toString('base64')).toBe(record.playbackKey.wrappedKey);
    }
    expect(JSON.stringify(record)).not.toContain(encrypted.wrappedKey);
    expectNoPlaintextKeys(outcome);
  });

  it('retries a throttled KMS call and shows the retry in the history', async () => {
    // Prepare
    fakeKms.throttleGenerate = 2;
    // Act
    const outcome = await run('incoming/clip.mp4', randomBytes(1000));
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    const retries = outcome.events.filter(
      (e) => e.type === 'StateRetried' && e.state?.name === 'GenerateKeys',
    );
    expect(retries).toHaveLength(2);
  });

  it('encrypts with AES-CTR for the ctr profile, byte-identical to openssl', async () => {
    // Prepare
    const body = randomBytes(5 * 1024 * 1024 + 33);
    // Act
    const outcome = await run('incoming/ctr/clip.mov', body, 'ctr');
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    const encrypted = outcome.notification.encrypted as {
      key: string;
      initializationVector: string;
      wrappedKey: string;
      mode: string;
    };
    expect(encrypted.mode).toBe('aes-ctr');
    const key = fakeKms.plaintexts.get(encrypted.wrappedKey)?.key ?? Buffer.alloc(0);
    const iv = Buffer.from(encrypted.initializationVector, 'base64');
    expect(key).toHaveLength(32);
    const plain = opensslDecrypt(
      'aes-ctr',
      key,
      iv,
      fakeS3.get(BUCKET, encrypted.key)?.body ?? Buffer.alloc(0),
    );
    expect(plain.equals(body)).toBe(true);
    expectNoPlaintextKeys(outcome);
  });

  it('keeps a finished transcode and fails the execution when the success notification cannot be published', async () => {
    // Prepare
    snsMock.on(PublishCommand).rejects(
      Object.assign(new Error('down'), {
        name: 'InternalErrorException',
        $metadata: { httpStatusCode: 500 },
      }),
    );
    // Act
    const outcome = await run('incoming/quiet.mp4', randomBytes(1000), 'default', 9);
    // Assess
    expect(outcome.status).toBe('FAILED');
    expect(outcome.events.some((e) => e.type === 'StateEntered' && e.state?.name === 'CleanUp')).toBe(false);
    expect(objectKeys().some((k) => k.includes('/encrypted/quiet.mp4.'))).toBe(true);
    expect(objectKeys().some((k) => k.includes('/assets/'))).toBe(true);
  });

  it('resubmits a job that ended in an internal transcoder error (9000) and succeeds', async () => {
    // Prepare
    readJobAnswers = [
      { Status: 'Error', StatusDetail: '9000 1700000000000-abcdef: internal service error' },
      { Status: 'Progressing' },
      { Status: 'Complete' },
    ];
    // Act
    const outcome = await run('incoming/flaky.mp4', randomBytes(1000));
    // Assess
    expect(outcome.status).toBe('SUCCEEDED');
    expect(etMock).toHaveReceivedCommandTimes(CreateJobCommand, 2);
    expect(
      outcome.events.filter((e) => e.type === 'StateCaught' && e.state?.name === 'PollJob'),
    ).toHaveLength(1);
    expect(outcome.notification.status).toBe('SUCCEEDED');
  });

  it.each([
    {
      title: 'a zero-byte object',
      setup: () => undefined,
      body: Buffer.alloc(0),
      code: 'SourceEmptyError',
      step: 'ValidateSource',
      keysGenerated: false,
    },
    {
      title: 'a disabled KMS key',
      setup: () => {
        fakeKms.failGenerateWith = 'DisabledException';
      },
      body: randomBytes(100),
      code: 'KmsKeyUnavailableError',
      step: 'GenerateKeys',
      keysGenerated: false,
    },
    {
      title: 'a wrapped key KMS refuses to decrypt (tampered blob)',
      setup: () => {
        fakeKms.failDecryptWith = 'InvalidCiphertextException';
      },
      body: randomBytes(100),
      code: 'KmsInvalidCiphertextError',
      step: 'EncryptSource',
    },
    {
      title: 'a transcode job that ends in Error 4018 (KeyMd5 mismatch)',
      setup: () => {
        readJobAnswers = [
          {
            Status: 'Error',
            StatusDetail: '4018 1700000000000-abcdef: Unable to decrypt the ciphered key with MD5=abc',
          },
        ];
      },
      body: randomBytes(100),
      code: 'TranscodeJobFailedError',
      step: 'PollJob',
    },
    {
      title: 'a job that keeps failing with internal errors (resubmissions spent)',
      setup: () => {
        readJobAnswers = [
          { Status: 'Error', StatusDetail: '9000 1700000000000-abcdef: internal service error' },
        ];
      },
      body: randomBytes(100),
      code: 'TranscodeJobFailedError',
      step: 'SubmitJob',
    },
    {
      title: 'a canceled transcode job',
      setup: () => {
        readJobAnswers = [{ Status: 'Canceled' }];
      },
      body: randomBytes(100),
      code: 'TranscodeJobCanceledError',
      step: 'PollJob',
    },
    {
      title: 'a source version DisposeSource may not delete (after a completed transcode)',
      setup: () => {
        s3Mock
          .on(DeleteObjectCommand, { Key: 'incoming/bad input.mp4' })
          .rejects(
            Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
          );
      },
      body: randomBytes(100),
      code: 'SourceNotFoundError',
      step: 'DisposeSource',
    },
    {
      title: 'a job that never finishes (poll deadline)',
      setup: () => {
        readJobAnswers = [{ Status: 'Progressing' }];
      },
      body: randomBytes(100),
      code: 'PollDeadlineExceededError',
      step: 'PollJob',
    },
  ])(
    'ends $title in one failure notification, cleans up, and leaks no key',
    async ({ setup, body, code, step, keysGenerated }) => {
      // Prepare
      setup();
      // Act
      const outcome = await run('incoming/bad input.mp4', body);
      // Assess
      expect(outcome.status).toBe('FAILED');
      expect(validateNotification(outcome.notification)).toBe(true);
      expect(outcome.notification.error).toMatchObject({ code, step });
      expect(outcome.notification.error?.message.length).toBeGreaterThan(5);
      expect(openUploads()).toBe(0);
      expect(objectKeys()).toEqual([`${BUCKET}/incoming/bad input.mp4`]);
      expect((outcome.notification.source as { retention?: unknown }).retention).toEqual({
        policy: 'delete',
        deleted: false,
        versionId: null,
      });
      expectNoPlaintextKeys(outcome, keysGenerated ?? true);
    },
  );
});
