import { randomBytes } from 'node:crypto';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { playbackConfig } from '../../../lib/config/playback.js';
import { clientAddressOf, viewerIp } from '../../../lib/playback/client-address.js';
import { buildKeyService, loadOriginSecret } from '../../../lib/playback/deps.js';
import { createKeyServiceHttpHandler } from '../../../lib/playback/http.js';
import { issueToken } from '../../../lib/playback/tokens.js';
import {
  ASSET_ID,
  httpEvent,
  PLAIN_KEY,
  PLAYBACK_KEY_ARN,
  RECORD,
  s3Body,
} from '../../support/playback-fixtures.js';

const TOKEN_SECRET = randomBytes(32);
const ORIGIN_SECRET = 'q7Vh2LmX9rTzK4nW8bYc3PdF6sJg1AeU5oRiN0kMxQwEtHyZ';
const TOKEN_PARAM = '/aws/reference/secretsmanager/secure-transcode-test-token-secret';
const ORIGIN_PARAM = '/aws/reference/secretsmanager/secure-transcode-test-origin-verify';
const EDGE = '130.176.12.34';

const kmsMock = mockClient(KMSClient);
const s3Mock = mockClient(S3Client);
const ddbMock = mockClient(DynamoDBClient);
const ssmMock = mockClient(SSMClient);

/** A request CloudFront forwarded for `viewer`, carrying `secret` as the origin custom header. */
function throughCloudFront(viewer: string, secret = ORIGIN_SECRET) {
  const token = issueToken({ assetId: ASSET_ID, ttlSeconds: 600 }, TOKEN_SECRET).token;
  const event = httpEvent('get-key.cloudfront', token);
  event.headers['cloudfront-viewer-address'] = viewer;
  event.headers['x-origin-verify'] = secret;
  return event;
}

/** The key service with a per-client bucket of one request and no refill within the test. */
async function makeHandler() {
  const config = playbackConfig({
    TOKEN_TABLE: 'playback-tokens',
    TOKEN_SECRET_PARAM: TOKEN_PARAM,
    OUTPUT_BUCKET: 'media-out',
    PLAYBACK_KMS_KEY_ID: PLAYBACK_KEY_ARN,
    THROTTLE_CLIENT_BURST: '1',
    THROTTLE_CLIENT_PER_SECOND: '0.0001',
    ORIGIN_VERIFY_PARAM: ORIGIN_PARAM,
  });
  const ssm = new SSMClient({ region: 'eu-west-1' });
  const service = await buildKeyService(config, {
    kms: new KMSClient({ region: 'eu-west-1' }),
    s3: new S3Client({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
    }),
    dynamodb: new DynamoDBClient({ region: 'eu-west-1' }),
    ssm,
  });
  return createKeyServiceHttpHandler(
    config,
    async () => service,
    () => loadOriginSecret(config, ssm),
  );
}

describe('viewerIp', () => {
  it.each([
    ['198.51.100.10:46532', '198.51.100.10'],
    ['2001:db8::1:46532', '2001:db8::1'],
    ['[2001:db8::1]:46532', '2001:db8::1'],
    ['2001:db8:0:0:1:2:3:4:443', '2001:db8:0:0:1:2:3:4'],
  ])('reads the IP of %s without its port', (value, ip) => {
    // Act & Assess
    expect(viewerIp(value)).toBe(ip);
  });

  it.each(['198.51.100.10', 'not-an-address:80', '', '999.1.1.1:80'])('finds no IP in %j', (value) => {
    // Act & Assess
    expect(viewerIp(value)).toBeUndefined();
  });
});

describe('clientAddressOf', () => {
  it("believes CloudFront-Viewer-Address only with the distribution's origin secret", () => {
    // Prepare
    const secret = Buffer.from(ORIGIN_SECRET);

    // Act & Assess
    expect(clientAddressOf(throughCloudFront('198.51.100.10:1'), secret)).toBe('198.51.100.10');
    expect(clientAddressOf(throughCloudFront('198.51.100.10:1', 'guess'), secret)).toBe(EDGE);
    expect(clientAddressOf(throughCloudFront('198.51.100.10:1'), undefined)).toBe(EDGE);
    expect(clientAddressOf(httpEvent('get-key'), secret)).toBe('203.0.113.7');
  });
});

describe('key service throttling behind CloudFront', () => {
  beforeEach(() => {
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    for (const mock of [kmsMock, s3Mock, ddbMock, ssmMock]) mock.reset();
    ssmMock
      .on(GetParameterCommand, { Name: TOKEN_PARAM })
      .resolves({ Parameter: { Value: TOKEN_SECRET.toString('base64') } });
    ssmMock.on(GetParameterCommand, { Name: ORIGIN_PARAM }).resolves({ Parameter: { Value: ORIGIN_SECRET } });
    kmsMock.on(DecryptCommand).callsFake(async () => ({ Plaintext: new Uint8Array(PLAIN_KEY) }));
    s3Mock
      .on(GetObjectCommand, { Bucket: 'media-out', Key: `assets/${ASSET_ID}.json` })
      .callsFake(async () => ({ Body: s3Body(JSON.stringify(RECORD)) }));
    ddbMock.on(UpdateItemCommand).resolves({ Attributes: { uses: { N: '1' } } });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('throttles each viewer behind one edge on its own address, not the edge address', async () => {
    // Prepare
    const handler = await makeHandler();

    // Act
    const first = await handler(throughCloudFront('198.51.100.10:46532'));
    const second = await handler(throughCloudFront('[2001:db8::7]:50000'));
    const firstAgain = await handler(throughCloudFront('198.51.100.10:46533'));

    // Assess
    expect([first.statusCode, second.statusCode, firstAgain.statusCode]).toEqual([200, 200, 429]);
  });

  it('throttles a direct request on its source address, whatever CloudFront-Viewer-Address it claims', async () => {
    // Prepare
    const handler = await makeHandler();

    // Act
    const first = await handler(throughCloudFront('198.51.100.10:1', 'not-the-secret'));
    const forged = await handler(throughCloudFront('198.51.100.11:1', 'not-the-secret'));

    // Assess
    expect([first.statusCode, forged.statusCode]).toEqual([200, 429]);
  });
});
