import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { playbackConfig } from '../../../../lib/config/playback.js';
import { buildKeyService } from '../../../../lib/playback/deps.js';
import { createKeyServiceHttpHandler } from '../../../../lib/playback/http.js';
import { issueToken } from '../../../../lib/playback/tokens.js';
import { lambdaContext } from '../../../support/lambda-context.js';
import {
  ASSET_ID,
  httpEvent,
  PLAIN_KEY,
  PLAYBACK_KEY_ARN,
  RECORD,
  s3Body,
  WRAPPED_BLOB,
} from '../../../support/playback-fixtures.js';

const SECRET = randomBytes(32);
const ORIGIN = 'https://player.example.com';
const VARIANT = `#EXTM3U
#EXT-X-TARGETDURATION:3
#EXT-X-KEY:METHOD=AES-128,URI="https://transcoder-wrote-this.example.com/keys/${ASSET_ID}",IV=0x00000000000000000000000000000001
#EXTINF:3.000,
hls_1000k00000.ts
#EXT-X-ENDLIST
`;

const kmsMock = mockClient(KMSClient);
const s3Mock = mockClient(S3Client);
const ddbMock = mockClient(DynamoDBClient);
const ssmMock = mockClient(SSMClient);

const clients = () => ({
  kms: new KMSClient({ region: 'eu-west-1' }),
  s3: new S3Client({
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
  }),
  dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
  ssm: new SSMClient({ region: 'eu-west-1' }),
});

async function makeHandler(env: Record<string, string> = {}) {
  const config = playbackConfig({
    TOKEN_TABLE: 'playback-tokens',
    TOKEN_SECRET_PARAM: '/secure-transcode/token-secret',
    OUTPUT_BUCKET: 'media-out',
    PLAYBACK_KMS_KEY_ID: PLAYBACK_KEY_ARN,
    PLAYER_ORIGINS: ORIGIN,
    ...env,
  });
  const service = await buildKeyService(config, clients());
  return createKeyServiceHttpHandler(config, async () => service);
}

const token = (options: { assetId?: string; maxUses?: number; ttlSeconds?: number; now?: number } = {}) =>
  issueToken({ assetId: ASSET_ID, ttlSeconds: 600, ...options }, SECRET).token;

describe('key service handler', () => {
  let logs: string[];

  beforeEach(() => {
    logs = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    });
    kmsMock.reset();
    s3Mock.reset();
    ddbMock.reset();
    ssmMock.reset();
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: SECRET.toString('base64') } });
    kmsMock.on(DecryptCommand).callsFake(async () => ({ Plaintext: new Uint8Array(PLAIN_KEY) }));
    s3Mock
      .on(GetObjectCommand, { Bucket: 'media-out', Key: `assets/${ASSET_ID}.json` })
      .callsFake(async () => ({ Body: s3Body(JSON.stringify(RECORD)) }));
    s3Mock
      .on(GetObjectCommand, { Bucket: 'media-out', Key: `${RECORD.outputKeyPrefix}hls_1000k.m3u8` })
      .callsFake(async () => ({ Body: s3Body(VARIANT) }));
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { uses: { N: '1' } } });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('returns the 16 raw key bytes, uncacheable, and consumes the token', async () => {
    // Prepare
    const handler = await makeHandler();
    const t = token();

    // Act
    const res = await handler(httpEvent('get-key', t));

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.isBase64Encoded).toBe(true);
    expect(Buffer.from(res.body ?? '', 'base64')).toEqual(PLAIN_KEY);
    expect(res.headers).toMatchObject({
      'Content-Type': 'application/octet-stream',
      'Cache-Control': 'no-store',
      'Access-Control-Allow-Origin': ORIGIN,
    });
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {
      CiphertextBlob: new Uint8Array(WRAPPED_BLOB),
      KeyId: PLAYBACK_KEY_ARN,
      EncryptionContext: { service: 'key-service.secure-transcode', assetId: ASSET_ID },
    });
    expect(ddbMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'playback-tokens',
      ConditionExpression: 'attribute_not_exists(uses) OR uses < :max',
      ExpressionAttributeValues: expect.objectContaining({ ':max': { N: '1' } }),
    });
  });

  it('answers 403 token_used for a used token, without the key in the body', async () => {
    // Prepare
    const handler = await makeHandler();
    ddbMock
      .on(UpdateItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const res = await handler(httpEvent('get-key', token()));

    // Assess
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body ?? '')).toEqual({ error: 'token_used' });
    expect(res.body).not.toContain(PLAIN_KEY.toString('base64'));
    expect(res.body).not.toContain(PLAIN_KEY.toString('hex'));
    expect(res.headers).toMatchObject({ 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
  });

  it.each([
    ['token_invalid', 'a tampered signature', () => `${token().slice(0, -4)}AAAA`],
    [
      'token_invalid',
      'another secret',
      () => issueToken({ assetId: ASSET_ID, ttlSeconds: 600 }, randomBytes(32)).token,
    ],
    ['token_expired', 'an expired token', () => token({ ttlSeconds: 60, now: Date.now() - 61_000 })],
    ['token_wrong_asset', "another asset's token", () => token({ assetId: 'a9999999999999999999999' })],
    ['token_missing', 'no token', () => undefined],
  ])('answers 403 %s for %s before touching KMS or the token table', async (reason, _case, make) => {
    // Prepare
    const handler = await makeHandler();
    const event = httpEvent('get-key');
    const t = make();
    event.queryStringParameters = t === undefined ? {} : { token: t };

    // Act
    const res = await handler(event);

    // Assess
    expect(res.statusCode).toBe(403);
    expect(JSON.parse(res.body ?? '')).toEqual({ error: reason });
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
    expect(ddbMock).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it('allows CORS only for configured player origins', async () => {
    // Prepare
    const handler = await makeHandler();
    const foreign = httpEvent('get-key', token());
    foreign.headers.origin = 'https://evil.example.net';
    const preflight = httpEvent('get-key');
    preflight.requestContext.http.method = 'OPTIONS';

    // Act
    const foreignRes = await handler(foreign);
    const preflightRes = await handler(preflight);

    // Assess
    expect(foreignRes.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
    expect(preflightRes.statusCode).toBe(204);
    expect(preflightRes.headers?.['Access-Control-Allow-Origin']).toBe(ORIGIN);
  });

  it('answers 429 once a token exceeds its request budget, before consuming it', async () => {
    // Prepare
    const handler = await makeHandler({ THROTTLE_TOKEN_BURST: '2', THROTTLE_TOKEN_PER_SECOND: '0.01' });
    const t = token({ maxUses: 5 });

    // Act
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await handler(httpEvent('get-key', t))).statusCode);

    // Assess
    expect(statuses).toEqual([200, 200, 429]);
    expect(ddbMock).toHaveReceivedCommandTimes(UpdateItemCommand, 2);
  });

  it('answers 429 to a client that floods the endpoint, whatever its tokens', async () => {
    // Prepare
    const handler = await makeHandler({ THROTTLE_CLIENT_BURST: '3', THROTTLE_CLIENT_PER_SECOND: '0.01' });

    // Act
    const statuses = [];
    for (let i = 0; i < 4; i += 1)
      statuses.push((await handler(httpEvent('get-key', `forged${i}.x`))).statusCode);

    // Assess
    expect(statuses).toEqual([403, 403, 403, 429]);
  });

  it('decrypts a key once and serves repeated fetches from the cache', async () => {
    // Prepare
    const handler = await makeHandler();
    const t = token({ maxUses: 3 });

    // Act
    const results = await Promise.all([1, 2, 3].map(() => handler(httpEvent('get-key', t))));

    // Assess
    expect(results.map((r) => r.statusCode)).toEqual([200, 200, 200]);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);
  });

  it('keeps the token when KMS is throttled, answering 503', async () => {
    // Prepare
    const handler = await makeHandler();
    kmsMock
      .on(DecryptCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

    // Act
    const res = await handler(httpEvent('get-key', token()));

    // Assess
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body ?? '')).toEqual({ error: 'key_unavailable' });
    expect(ddbMock).not.toHaveReceivedCommand(UpdateItemCommand);
  });

  it('answers 404 asset_not_found for a genuine token of an asset without a record', async () => {
    // Prepare
    const handler = await makeHandler();
    s3Mock
      .on(GetObjectCommand)
      .rejects(new NoSuchKey({ message: 'The specified key does not exist.', $metadata: {} }));

    // Act
    const res = await handler(httpEvent('get-key', token()));

    // Assess
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body ?? '')).toEqual({ error: 'asset_not_found' });
  });

  it('serves a rewritten variant playlist without consuming the token', async () => {
    // Prepare
    const handler = await makeHandler();
    const t = token();
    const event = httpEvent('get-playlist', t);
    event.pathParameters = { assetId: ASSET_ID, playlist: 'hls_1000k.m3u8' };

    // Act
    const res = await handler(event);

    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'Content-Type': 'application/vnd.apple.mpegurl',
      'Cache-Control': 'no-store',
    });
    const body = res.body ?? '';
    expect(body).toContain(
      `URI="https://abc123.execute-api.eu-west-1.amazonaws.com/keys/${ASSET_ID}?token=${encodeURIComponent(t)}"`,
    );
    expect(body).toMatch(
      new RegExp(
        `^https://media-out\\.s3\\.eu-west-1\\.amazonaws\\.com/outputs/${ASSET_ID}/clip/hls_1000k00000\\.ts\\?.*X-Amz-Expires=3600`,
        'm',
      ),
    );
    expect(body).not.toContain('transcoder-wrote-this');
    expect(ddbMock).not.toHaveReceivedCommand(UpdateItemCommand);
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('answers 404 for a playlist the asset record does not list', async () => {
    const handler = await makeHandler();
    const event = httpEvent('get-playlist', token());
    event.pathParameters = { assetId: ASSET_ID, playlist: '../../other/index.m3u8' };

    const res = await handler(event);

    expect(res.statusCode).toBe(404);
    expect(s3Mock).not.toHaveReceivedCommandWith(GetObjectCommand, { Key: expect.stringContaining('other') });
  });

  it('never writes the token or the key to its logs', async () => {
    // Prepare
    const handler = await makeHandler();
    const t = token();

    // Act
    await handler(httpEvent('get-key', t));
    ddbMock
      .on(UpdateItemCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    await handler(httpEvent('get-key', t));

    // Assess
    const text = logs.join('');
    expect(text).toContain('key delivered');
    expect(text).toContain('token_used');
    expect(text).not.toContain(t);
    expect(text).not.toContain(t.split('.')[1]);
    expect(text).not.toContain(PLAIN_KEY.toString('base64'));
    expect(text).not.toContain(PLAIN_KEY.toString('hex'));
  });

  it('is wired the same way in the deployed module, configured from the environment', async () => {
    // Prepare
    Object.assign(process.env, {
      TOKEN_TABLE: 'playback-tokens',
      TOKEN_SECRET_PARAM: '/secure-transcode/token-secret',
      OUTPUT_BUCKET: 'media-out',
      PLAYBACK_KMS_KEY_ID: PLAYBACK_KEY_ARN,
      PLAYER_ORIGINS: ORIGIN,
    });
    const { handler } = await import('../../../../functions/key-service/handler.js');

    // Act
    const res = await handler(
      httpEvent('get-key', token()),
      lambdaContext('req-1', 'secure-transcode-dev-keyService'),
    );

    // Assess
    expect(res.statusCode).toBe(200);
    expect(Buffer.from(res.body ?? '', 'base64')).toEqual(PLAIN_KEY);
    expect(ddbMock).toHaveReceivedCommandWith(UpdateItemCommand, { TableName: 'playback-tokens' });
  });
});
