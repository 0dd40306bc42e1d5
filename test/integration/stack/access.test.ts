/**
 * The running local stack is closed to everyone but its owner: every endpoint refuses unsigned requests, requests
 * signed with another secret and requests naming a foreign Host (DNS rebinding), and serves the stack's own
 * credentials, which live 0600 in the data directory. The key service's `/s3` proxy serves nothing but the signed
 * asset's segments and playlists. Requests are built by hand and signed with `@smithy/signature-v4`, so each case
 * controls exactly what is sent.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { keyServiceContext, spekeKeyProviderContext } from '../../../lib/kms/contexts.js';
import { writeAssetRecord } from '../../../lib/playback/asset-record.js';
import { runCredentialsCommand } from '../../../local/cli/credentials.js';
import { type Stack, startStack } from '../../../local/stack/index.js';
import { awsCliEnv, dataDirCredentials } from '../../support/credentials.js';

// Generous: these spawn processes (the AWS CLI, boto3) whose speed depends on the machine's load.
jest.setTimeout(180_000);

const run = promisify(execFile);
const ASSET = 'a0000000000000000000access';
const OTHER_ASSET = 'a00000000000000000000other';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Call {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Sends `call` to `endpoint` with exactly the given headers (Host included, so it can be foreign). */
function send(endpoint: string, call: Call, headers: Record<string, string>): Promise<Answer> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: Number(url.port), method: call.method, path: call.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(call.body ?? '');
  });
}

async function signed(
  endpoint: string,
  service: string,
  call: Call,
  credentials: { accessKeyId: string; secretAccessKey: string },
  options: { host?: string; signingDate?: Date } = {},
): Promise<Answer> {
  const host = options.host ?? new URL(endpoint).host;
  const [path = '/', rawQuery = ''] = call.path.split('?');
  const query = Object.fromEntries(new URLSearchParams(rawQuery));
  const signer = new SignatureV4({
    credentials,
    region: 'us-east-1',
    service,
    sha256: Hash.bind(null, 'sha256'),
  });
  const out = await signer.sign(
    {
      method: call.method,
      protocol: 'http:',
      hostname: host.split(':')[0] ?? '',
      path,
      query,
      headers: { host, ...(call.headers ?? {}) },
      body: call.body ?? '',
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  return send(endpoint, call, out.headers);
}

type Protocol = 'rest-xml' | 'query' | 'json' | 'rest-json' | 'api-gateway';

/** The error code of an answer in its protocol's shape. */
function errorCode(protocol: Protocol, a: Answer): string | undefined {
  switch (protocol) {
    case 'rest-xml':
    case 'query':
      return /<Code>([^<]+)<\/Code>/.exec(a.body)?.[1];
    case 'json':
      return (JSON.parse(a.body) as { __type?: string }).__type;
    case 'rest-json':
      return String(a.headers['x-amzn-errortype'] ?? '');
    default:
      return (JSON.parse(a.body) as { reason?: string }).reason;
  }
}

const EXPECTED: Record<Protocol, { unsigned: string; wrongSecret: string; foreignHost: string }> = {
  'rest-xml': { unsigned: 'AccessDenied', wrongSecret: 'SignatureDoesNotMatch', foreignHost: 'AccessDenied' },
  query: {
    unsigned: 'MissingAuthenticationToken',
    wrongSecret: 'SignatureDoesNotMatch',
    foreignHost: 'AccessDenied',
  },
  json: {
    unsigned: 'MissingAuthenticationTokenException',
    wrongSecret: 'InvalidSignatureException',
    foreignHost: 'AccessDeniedException',
  },
  'rest-json': {
    unsigned: 'MissingAuthenticationTokenException',
    wrongSecret: 'InvalidSignatureException',
    foreignHost: 'AccessDeniedException',
  },
  'api-gateway': {
    unsigned: 'signature_missing',
    wrongSecret: 'signature_mismatch',
    foreignHost: 'foreign_host',
  },
};

interface EndpointCase {
  name: string;
  endpoint: (s: Stack) => string;
  service: string;
  protocol: Protocol;
  call: Call;
  /** What the stack's own credentials get. */
  ok: (a: Answer) => void;
}

const json = (target: string, version: '1.0' | '1.1', body = '{}'): Call => ({
  method: 'POST',
  path: '/',
  headers: { 'content-type': `application/x-amz-json-${version}`, 'x-amz-target': target },
  body,
});
const form = (body: string): Call => ({
  method: 'POST',
  path: '/',
  headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  body,
});

const CASES: EndpointCase[] = [
  {
    name: 'S3 ListObjectsV2',
    endpoint: (s) => s.config.endpoints.s3,
    service: 's3',
    protocol: 'rest-xml',
    call: {
      method: 'GET',
      path: '/secure-transcode-local?list-type=2',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    ok: (a) => expect(a.body).toContain('<ListBucketResult'),
  },
  {
    name: 'SQS ListQueues (JSON)',
    endpoint: (s) => s.config.endpoints.sqs,
    service: 'sqs',
    protocol: 'json',
    call: json('AmazonSQS.ListQueues', '1.0'),
    ok: (a) =>
      expect(JSON.parse(a.body).QueueUrls).toEqual(
        expect.arrayContaining([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\//)]),
      ),
  },
  {
    name: 'SQS ListQueues (query)',
    endpoint: (s) => s.config.endpoints.sqs,
    service: 'sqs',
    protocol: 'query',
    call: form('Action=ListQueues&Version=2012-11-05'),
    ok: (a) =>
      expect(a.body).toMatch(/<ListQueuesResponse[^>]*><ListQueuesResult><QueueUrl>http:\/\/127\.0\.0\.1:/),
  },
  {
    name: 'SNS ListTopics',
    endpoint: (s) => s.config.endpoints.sns,
    service: 'sns',
    protocol: 'query',
    call: form('Action=ListTopics&Version=2010-03-31'),
    ok: (a) => expect(a.body).toContain('<ListTopicsResponse'),
  },
  {
    name: 'KMS ListKeys',
    endpoint: (s) => s.config.endpoints.kms,
    service: 'kms',
    protocol: 'json',
    call: json('TrentService.ListKeys', '1.1'),
    ok: (a) => expect(JSON.parse(a.body).Keys.length).toBeGreaterThan(0),
  },
  {
    name: 'Step Functions ListStateMachines',
    endpoint: (s) => s.config.endpoints.sfn,
    service: 'states',
    protocol: 'json',
    call: json('AWSStepFunctions.ListStateMachines', '1.0'),
    ok: (a) => expect(JSON.parse(a.body).stateMachines).toHaveLength(1),
  },
  {
    name: 'Elastic Transcoder ListPipelines',
    endpoint: (s) => s.config.endpoints.elastictranscoder,
    service: 'elastictranscoder',
    protocol: 'rest-json',
    call: { method: 'GET', path: '/2012-09-25/pipelines' },
    ok: (a) => expect(JSON.parse(a.body).Pipelines.length).toBeGreaterThan(0),
  },
  {
    name: 'EventBridge ListEventBuses',
    endpoint: (s) => s.config.endpoints.eventbridge,
    service: 'events',
    protocol: 'json',
    call: json('AWSEvents.ListEventBuses', '1.1'),
    ok: (a) =>
      expect(JSON.parse(a.body).EventBuses.map((b: { Name: string }) => b.Name)).toEqual([
        'default',
        'secure-transcode-local',
      ]),
  },
  {
    name: 'DynamoDB (token uses) ListTables',
    endpoint: (s) => s.config.endpoints.dynamodb,
    service: 'dynamodb',
    protocol: 'json',
    call: json('DynamoDB_20120810.ListTables', '1.0'),
    ok: (a) => expect(JSON.parse(a.body).TableNames).toContain('secure-transcode-playback-tokens'),
  },
  {
    name: 'key service POST /tokens',
    endpoint: (s) => s.config.endpoints.keyService,
    service: 'execute-api',
    protocol: 'api-gateway',
    call: {
      method: 'POST',
      path: '/tokens',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ assetId: ASSET }),
    },
    ok: (a) => expect(JSON.parse(a.body).token).toEqual(expect.any(String)),
  },
];

describe('the running local stack admits its owner only', () => {
  let work: string;
  let stack: Stack;
  let own: { accessKeyId: string; secretAccessKey: string };
  let s3: S3Client;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'st-access-'));
    stack = await startStack({ dataDir: join(work, 'data'), quiet: true });
    own = dataDirCredentials(stack.dataDir).credentials;
    // The SDK annotates the credentials object it is given: each client gets a copy.
    s3 = new S3Client({
      region: 'us-east-1',
      credentials: { ...own },
      endpoint: stack.config.endpoints.s3,
      forcePathStyle: true,
    });
    const put = (Key: string, Body: string) =>
      s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key, Body }));
    for (const asset of [ASSET, OTHER_ASSET]) {
      await writeAssetRecord(
        { s3, bucket: stack.config.bucket, assetPrefix: 'assets/' },
        {
          assetId: asset,
          playbackKey: {
            wrappedKey: Buffer.from('not a real blob').toString('base64'),
            kmsKeyId: stack.config.playbackKmsKeyArn,
            encryptionContext: { ...keyServiceContext(asset) },
          },
          spekeKey: {
            wrappedKey: Buffer.from('not a real blob either').toString('base64'),
            kmsKeyId: stack.config.playbackKmsKeyArn,
            encryptionContext: { ...spekeKeyProviderContext(asset) },
          },
          outputBucket: stack.config.bucket,
          outputKeyPrefix: `outputs/${asset}/clip/`,
          masterPlaylist: 'index.m3u8',
          playlists: ['hls_400k.m3u8'],
        },
      );
      await put(`outputs/${asset}/clip/hls_400k00000.ts`, `segment of ${asset}`);
      await put(`outputs/${asset}/clip/hls_400k.m3u8`, '#EXTM3U\n');
      await put(`outputs/${asset}/clip/poster.jpg`, 'not media');
    }
    await put('incoming/source.mp4', 'plaintext source');
    await put('encrypted/source.mp4.enc', 'encrypted copy');
  }, 120_000);

  afterAll(async () => {
    s3?.destroy();
    await stack?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('keeps random credentials 0600 in a 0700 data directory, and endpoints.json 0600', () => {
    // Prepare
    const mode = (p: string) => statSync(join(stack.dataDir, p)).mode & 0o777;

    // Act
    const modes = {
      dir: mode('.'),
      credentials: mode('credentials.json'),
      endpoints: mode('endpoints.json'),
    };

    // Assess
    expect(modes).toEqual({ dir: 0o700, credentials: 0o600, endpoints: 0o600 });
    expect(own.accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(own.secretAccessKey).toHaveLength(40);
    expect(stack.config.credentials).toEqual(own);
  });

  describe.each(CASES)('$name', ({ endpoint, service, protocol, call, ok }) => {
    it('refuses an unsigned request with 403 in its protocol', async () => {
      // Act
      const a = await send(endpoint(stack), call, {
        host: new URL(endpoint(stack)).host,
        ...(call.headers ?? {}),
      });

      // Assess
      expect(a.status).toBe(403);
      expect(errorCode(protocol, a)).toBe(EXPECTED[protocol].unsigned);
    });

    it('refuses a request signed with the right key id and a wrong secret', async () => {
      // Act
      const a = await signed(endpoint(stack), service, call, {
        ...own,
        secretAccessKey: `${own.secretAccessKey}x`,
      });

      // Assess
      expect(a.status).toBe(403);
      expect(errorCode(protocol, a)).toBe(EXPECTED[protocol].wrongSecret);
    });

    it('refuses a correctly signed request naming a foreign Host', async () => {
      // Prepare
      const port = new URL(endpoint(stack)).port;

      // Act
      const rebound = await signed(endpoint(stack), service, call, own, { host: `attacker.example:${port}` });
      const otherPort = await signed(endpoint(stack), service, call, own, { host: '127.0.0.1:1' });

      // Assess
      expect([rebound.status, otherPort.status]).toEqual([403, 403]);
      expect(errorCode(protocol, rebound)).toBe(EXPECTED[protocol].foreignHost);
    });

    it("serves the stack's own credentials", async () => {
      // Act
      const a = await signed(endpoint(stack), service, call, own);

      // Assess
      expect(a.status).toBeLessThan(300);
      ok(a);
    });
  });

  it('refuses S3 signatures that are too old, lack a signed host, or carry a session token', async () => {
    // Prepare
    const endpoint = stack.config.endpoints.s3;
    const call: Call = {
      method: 'GET',
      path: '/secure-transcode-local?list-type=2',
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    };
    const withoutHost = await new SignatureV4({
      credentials: { ...own },
      region: 'us-east-1',
      service: 's3',
      sha256: Hash.bind(null, 'sha256'),
    }).sign({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/secure-transcode-local',
      query: { 'list-type': '2' },
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });

    // Act
    const old = await signed(endpoint, 's3', call, own, { signingDate: new Date(Date.now() - 20 * 60_000) });
    const hostless = await send(endpoint, call, { ...withoutHost.headers, host: new URL(endpoint).host });
    const session = await signed(
      endpoint,
      's3',
      { ...call, headers: { ...call.headers, 'x-amz-security-token': 'x' } },
      own,
    );

    // Assess
    expect([old.status, errorCode('rest-xml', old)]).toEqual([403, 'RequestTimeTooSkewed']);
    expect([hostless.status, errorCode('rest-xml', hostless)]).toEqual([403, 'AuthorizationHeaderMalformed']);
    expect([session.status, errorCode('rest-xml', session)]).toEqual([403, 'InvalidAccessKeyId']);
  });

  it('serves presigned S3 URLs made with its credentials until they expire', async () => {
    // Prepare
    const get = new GetObjectCommand({ Bucket: stack.config.bucket, Key: 'incoming/source.mp4' });
    const good = await getSignedUrl(s3, get, { expiresIn: 60 });
    const expired = await getSignedUrl(s3, get, {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3600_000),
    });
    const forger = new S3Client({
      region: 'us-east-1',
      credentials: { ...own, secretAccessKey: 'guessed' },
      endpoint: stack.config.endpoints.s3,
      forcePathStyle: true,
    });
    const forged = await getSignedUrl(forger, get, { expiresIn: 60 });
    forger.destroy();

    // Act
    const [ok, late, fake] = await Promise.all([fetch(good), fetch(expired), fetch(forged)]);

    // Assess
    expect([ok.status, await ok.text()]).toEqual([200, 'plaintext source']);
    expect([
      late.status,
      errorCode('rest-xml', { status: 403, headers: {}, body: await late.text() }),
    ]).toEqual([403, 'AccessDenied']);
    expect([
      fake.status,
      errorCode('rest-xml', { status: 403, headers: {}, body: await fake.text() }),
    ]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('answers the player, key and playlist routes only for a loopback Host', async () => {
    // Prepare
    const endpoint = stack.config.endpoints.keyService;
    const port = new URL(endpoint).port;

    // Act
    const answers = await Promise.all(
      ['/player/', `/keys/${ASSET}?token=x`, `/play/${ASSET}/index.m3u8?token=x`].map((path) =>
        send(endpoint, { method: 'GET', path }, { host: `rebind.example:${port}` }),
      ),
    );
    const local = await send(endpoint, { method: 'GET', path: '/player/' }, { host: `localhost:${port}` });

    // Assess
    expect(answers.map((a) => [a.status, errorCode('api-gateway', a)])).toEqual([
      [403, 'foreign_host'],
      [403, 'foreign_host'],
      [403, 'foreign_host'],
    ]);
    expect(local.status).toBe(200);
    expect(local.body).toContain('<html');
  });

  describe('the key service /s3 proxy', () => {
    const presign = async (Key: string, client: S3Client = s3) =>
      new URL(
        await getSignedUrl(client, new GetObjectCommand({ Bucket: stack.config.bucket, Key }), {
          expiresIn: 60,
        }),
      );
    const viaProxy = (asset: string, url: URL, extra = '') =>
      fetch(`${stack.config.endpoints.keyService}/s3/${asset}${url.pathname}${url.search}${extra}`);
    const denial = async (r: Response) => [r.status, ((await r.json()) as { error: string }).error];

    it("serves the signed asset's segments and playlists", async () => {
      // Act
      const segment = await viaProxy(ASSET, await presign(`outputs/${ASSET}/clip/hls_400k00000.ts`));
      const playlist = await viaProxy(ASSET, await presign(`outputs/${ASSET}/clip/hls_400k.m3u8`));

      // Assess
      expect([segment.status, await segment.text()]).toEqual([200, `segment of ${ASSET}`]);
      expect([playlist.status, await playlist.text()]).toEqual([200, '#EXTM3U\n']);
    });

    it.each([
      ['the plaintext source', ASSET, 'incoming/source.mp4', 'not_asset_output'],
      ['the encrypted copy', ASSET, 'encrypted/source.mp4.enc', 'not_asset_output'],
      ['the asset record', ASSET, `assets/${ASSET}.json`, 'not_asset_output'],
      ['another asset’s segment', ASSET, `outputs/${OTHER_ASSET}/clip/hls_400k00000.ts`, 'not_asset_output'],
      ['a non-media object of the asset', ASSET, `outputs/${ASSET}/clip/poster.jpg`, 'not_media_object'],
      [
        'a segment of an asset without a record',
        'a000000000000000000nosuch',
        `outputs/${ASSET}/clip/hls_400k00000.ts`,
        'unknown_asset',
      ],
    ])('refuses %s even with a valid presignature', async (_what, asset, key, reason) => {
      // Act
      const r = await viaProxy(asset, await presign(key));

      // Assess
      expect(await denial(r)).toEqual([403, reason]);
    });

    it.each([
      ['&tagging', 'unsigned_parameter'],
      ['&uploadId=x', 'unsigned_parameter'],
      ['&versionId=1', 'unsigned_parameter'],
      ['&response-content-type=text%2Fhtml', 'unsigned_parameter'],
    ])('refuses an unsigned extra parameter %s', async (extra, reason) => {
      // Act
      const r = await viaProxy(ASSET, await presign(`outputs/${ASSET}/clip/hls_400k00000.ts`), extra);

      // Assess
      expect(await denial(r)).toEqual([403, reason]);
    });

    it('refuses unsigned and forged URLs and any method but GET', async () => {
      // Prepare
      const good = await presign(`outputs/${ASSET}/clip/hls_400k00000.ts`);
      const forger = new S3Client({
        region: 'us-east-1',
        credentials: { accessKeyId: own.accessKeyId, secretAccessKey: 'local' },
        endpoint: stack.config.endpoints.s3,
        forcePathStyle: true,
      });
      const forged = await presign(`outputs/${ASSET}/clip/hls_400k00000.ts`, forger);
      forger.destroy();

      // Act
      const unsigned = await fetch(`${stack.config.endpoints.keyService}/s3/${ASSET}${good.pathname}`);
      const fake = await viaProxy(ASSET, forged);
      const head = await fetch(
        `${stack.config.endpoints.keyService}/s3/${ASSET}${good.pathname}${good.search}`,
        {
          method: 'HEAD',
        },
      );

      // Assess
      expect(await denial(unsigned)).toEqual([403, 'signature_invalid_or_expired']);
      expect(await denial(fake)).toEqual([403, 'signature_invalid_or_expired']);
      expect(head.status).toBe(403);
    });
  });

  it('refuses to rotate the credentials while the stack runs', async () => {
    // Prepare
    const stderr = new PassThrough();

    // Act
    const rotation = runCredentialsCommand(['--rotate', '--data-dir', stack.dataDir], {
      stdout: new PassThrough(),
      stderr,
    });

    // Assess
    await expect(rotation).rejects.toThrow(/a stack is running/);
    expect(dataDirCredentials(stack.dataDir).credentials).toEqual(own);
  });

  describe("Debian's own clients", () => {
    let home: string;
    let env: Record<string, string>;

    beforeAll(() => {
      home = mkdtempSync(join(tmpdir(), 'st-debian-'));
      env = awsCliEnv(home, own, 'us-east-1');
    });
    afterAll(() => rmSync(home, { recursive: true, force: true }));

    const aws = async (endpoint: string, ...args: string[]) =>
      JSON.parse(
        (await run('/usr/bin/aws', ['--endpoint-url', endpoint, '--output', 'json', ...args], { env }))
          .stdout || '{}',
      ) as Record<string, unknown>;

    it('drives SQS through /usr/bin/aws (query protocol): list, get URL, send, receive, delete, attributes', async () => {
      // Prepare
      const sqs = stack.config.endpoints.sqs;
      const version = (await run('/usr/bin/aws', ['--version'], { env })).stdout;
      const created = await aws(sqs, 'sqs', 'create-queue', '--queue-name', 'debian-cli');

      // Act
      const listed = await aws(sqs, 'sqs', 'list-queues');
      const { QueueUrl } = await aws(sqs, 'sqs', 'get-queue-url', '--queue-name', 'debian-cli');
      const url = String(QueueUrl);
      const sent = await aws(
        sqs,
        'sqs',
        'send-message',
        '--queue-url',
        url,
        '--message-body',
        'héllo <&>',
        '--message-attributes',
        '{"kind":{"DataType":"String","StringValue":"test"}}',
      );
      await aws(
        sqs,
        'sqs',
        'set-queue-attributes',
        '--queue-url',
        url,
        '--attributes',
        'VisibilityTimeout=7',
      );
      const received = await aws(
        sqs,
        'sqs',
        'receive-message',
        '--queue-url',
        url,
        '--attribute-names',
        'All',
        '--message-attribute-names',
        'All',
        '--wait-time-seconds',
        '1',
      );
      const message = (received.Messages as Array<Record<string, unknown>>)[0] ?? {};
      await aws(
        sqs,
        'sqs',
        'delete-message',
        '--queue-url',
        url,
        '--receipt-handle',
        String(message.ReceiptHandle),
      );
      const attributes = await aws(
        sqs,
        'sqs',
        'get-queue-attributes',
        '--queue-url',
        url,
        '--attribute-names',
        'All',
      );
      const missing = await run(
        '/usr/bin/aws',
        ['--endpoint-url', sqs, 'sqs', 'get-queue-url', '--queue-name', 'no-such-queue'],
        { env },
      ).then(
        () => '',
        (e: { stderr: string }) => e.stderr,
      );
      const unsigned = await run(
        '/usr/bin/aws',
        ['--endpoint-url', sqs, '--no-sign-request', 'sqs', 'list-queues'],
        { env },
      ).then(
        () => '',
        (e: { stderr: string }) => e.stderr,
      );

      // Assess
      expect(version).toMatch(/^aws-cli\/2\.9\./);
      expect(created.QueueUrl).toBe(url);
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\/debian-cli$/);
      expect(listed.QueueUrls).toEqual(expect.arrayContaining([url, stack.config.queueUrl]));
      expect(sent.MessageId).toEqual(expect.any(String));
      expect(message).toMatchObject({
        Body: 'héllo <&>',
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'test' } },
      });
      expect((message.Attributes as Record<string, string>).ApproximateReceiveCount).toBe('1');
      expect(attributes.Attributes).toMatchObject({
        VisibilityTimeout: '7',
        ApproximateNumberOfMessages: '0',
        ApproximateNumberOfMessagesNotVisible: '0',
      });
      expect(missing).toContain('AWS.SimpleQueueService.NonExistentQueue');
      expect(unsigned).toContain('MissingAuthenticationToken');
    });

    it('lists KMS keys and aliases, the key policy and rotation status, the state machine and the event buses', async () => {
      // Prepare
      const { kms, sfn, eventbridge } = stack.config.endpoints;
      const keyId = stack.config.kmsKeyId;

      // Act (independent calls, run side by side: each CLI start costs seconds on a busy machine)
      const [keys, aliases, policy, rotation, machine, buses, bus] = await Promise.all([
        aws(kms, 'kms', 'list-keys'),
        aws(kms, 'kms', 'list-aliases'),
        aws(kms, 'kms', 'get-key-policy', '--key-id', keyId, '--policy-name', 'default'),
        aws(kms, 'kms', 'get-key-rotation-status', '--key-id', keyId),
        aws(
          sfn,
          'stepfunctions',
          'describe-state-machine',
          '--state-machine-arn',
          stack.config.stateMachineArn,
        ),
        aws(eventbridge, 'events', 'list-event-buses'),
        aws(eventbridge, 'events', 'describe-event-bus', '--name', 'secure-transcode-local'),
      ]);

      // Assess
      expect(keys.Keys).toEqual(
        expect.arrayContaining([{ KeyId: stack.config.kmsKeyId, KeyArn: stack.config.kmsKeyArn }]),
      );
      expect(aliases.Aliases).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            AliasName: 'alias/secure-transcode',
            TargetKeyId: stack.config.kmsKeyId,
          }),
        ]),
      );
      expect(JSON.parse(String(policy.Policy)).Statement[0].Action).toBe('kms:*');
      expect(rotation.KeyRotationEnabled).toBe(false);
      expect(JSON.parse(String(machine.definition)).StartAt).toEqual(expect.any(String));
      expect(machine.roleArn).toMatch(/^arn:aws:iam::000000000000:role\//);
      expect(new Date(String(machine.creationDate)).getFullYear()).toBeGreaterThanOrEqual(2025);
      expect((buses.EventBuses as Array<{ Name: string }>).map((b) => b.Name)).toContain(
        'secure-transcode-local',
      );
      expect(bus.Arn).toBe('arn:aws:events:us-east-1:000000000000:event-bus/secure-transcode-local');
    });

    it("drives SQS and the KMS listings through Debian's python3-boto3", async () => {
      // Prepare
      const script = `
import json, sys
sys.path.insert(0, '/usr/lib/python3/dist-packages')  # Debian's package, not a pip install
import boto3

sqs = boto3.client('sqs', endpoint_url=sys.argv[1], region_name='us-east-1')
kms = boto3.client('kms', endpoint_url=sys.argv[2], region_name='us-east-1')
url = sqs.create_queue(QueueName='debian-boto3')['QueueUrl']
out = {'version': boto3.__version__, 'file': boto3.__file__, 'url': url}
out['listed'] = sqs.list_queues()['QueueUrls']
out['got'] = sqs.get_queue_url(QueueName='debian-boto3')['QueueUrl']
sqs.send_message(QueueUrl=url, MessageBody='from boto3', MessageAttributes={'n': {'DataType': 'Number', 'StringValue': '42'}})
sqs.send_message_batch(QueueUrl=url, Entries=[{'Id': 'b1', 'MessageBody': 'batch one'}])
msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=['All'], WaitTimeSeconds=1)['Messages']
out['bodies'] = sorted(m['Body'] for m in msgs)
out['attrs'] = [m.get('MessageAttributes') for m in msgs if m['Body'] == 'from boto3']
deleted = sqs.delete_message_batch(QueueUrl=url, Entries=[{'Id': str(i), 'ReceiptHandle': m['ReceiptHandle']} for i, m in enumerate(msgs)])
out['deleted'] = len(deleted.get('Successful', []))
out['attributes'] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['All'])['Attributes']
out['keys'] = kms.list_keys()['Keys']
out['aliases'] = [a['AliasName'] for a in kms.list_aliases()['Aliases']]
out['rotation'] = kms.get_key_rotation_status(KeyId=out['keys'][0]['KeyId'])['KeyRotationEnabled']
out['policy'] = json.loads(kms.get_key_policy(KeyId=out['keys'][0]['KeyId'], PolicyName='default')['Policy'])['Version']
print(json.dumps(out))
`;

      // Act
      const { stdout } = await run(
        '/usr/bin/python3',
        ['-I', '-c', script, stack.config.endpoints.sqs, stack.config.endpoints.kms],
        { env },
      );
      const out = JSON.parse(stdout);

      // Assess
      expect(out.file).toMatch(/^\/usr\/lib\/python3\/dist-packages\//);
      expect(out.version).toMatch(/^1\.26\./);
      expect(out.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/000000000000\/debian-boto3$/);
      expect(out.got).toBe(out.url);
      expect(out.listed).toContain(out.url);
      expect(out.bodies).toEqual(['batch one', 'from boto3']);
      expect(out.attrs).toEqual([{ n: { DataType: 'Number', StringValue: '42' } }]);
      expect(out.deleted).toBe(2);
      expect(out.attributes.ApproximateNumberOfMessages).toBe('0');
      expect(out.keys).toEqual(
        expect.arrayContaining([{ KeyId: stack.config.kmsKeyId, KeyArn: stack.config.kmsKeyArn }]),
      );
      expect(out.aliases).toContain('alias/secure-transcode');
      expect([out.rotation, out.policy]).toEqual([false, '2012-10-17']);
    });
  });
});
