import { randomBytes } from 'node:crypto';
import { DecryptCommand, KMSClient, KMSInternalException } from '@aws-sdk/client-kms';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { spekeConfig } from '../../../../lib/config/playback.js';
import { createSpekeHttpHandler } from '../../../../lib/speke/http.js';
import { SpekeKeyProvider } from '../../../../lib/speke/key-provider.js';
import { loadEvent } from '../../../support/events.js';
import { s3Body } from '../../../support/playback-fixtures.js';

const ASSET_ID = 'a0123456789abcdef012345';
const PLAYBACK_KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/playback-0000-1111-2222-333344445555';
const PLAIN_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const SPEKE_BLOB = randomBytes(184).toString('base64');
const SPEKE_CONTEXT = { service: 'speke-key-provider.secure-transcode', assetId: ASSET_ID };
const record = (spekeKey: unknown) => ({
  assetId: ASSET_ID,
  playbackKey: { wrappedKey: randomBytes(184).toString('base64'), kmsKeyId: PLAYBACK_KEY_ARN },
  ...(spekeKey === undefined ? {} : { spekeKey }),
  outputBucket: 'media-out',
  outputKeyPrefix: `outputs/${ASSET_ID}/clip/`,
  masterPlaylist: 'index.m3u8',
  playlists: ['index_hls-400k.m3u8'],
});
const GOOD = record({ wrappedKey: SPEKE_BLOB, kmsKeyId: PLAYBACK_KEY_ARN, encryptionContext: SPEKE_CONTEXT });

const s3Mock = mockClient(S3Client);
const kmsMock = mockClient(KMSClient);
const config = spekeConfig({
  OUTPUT_BUCKET: 'media-out',
  KEY_SERVICE_URL: 'https://keys.example.com/',
  PLAYBACK_KMS_KEY_ID: PLAYBACK_KEY_ARN,
});
const handler = createSpekeHttpHandler(
  async () =>
    new SpekeKeyProvider({
      s3: new S3Client({ region: 'us-east-1' }),
      kms: new KMSClient({ region: 'us-east-1' }),
      bucket: config.outputBucket,
      assetPrefix: config.assetPrefix,
      keyServiceUrl: config.keyServiceUrl,
      playbackKmsKeyId: config.playbackKmsKeyId,
    }),
);
const event = (name = 'cpix-request') => loadEvent<APIGatewayProxyEvent>(`speke/${name}.json`);
const plainValue = (xml: string) => /<pskc:PlainValue>([^<]+)</.exec(xml)?.[1];
const uriExtXKey = (xml: string) =>
  Buffer.from(/<cpix:URIExtXKey>([^<]+)</.exec(xml)?.[1] ?? '', 'base64').toString();
const serveRecord = (body: unknown) =>
  s3Mock
    .on(GetObjectCommand, { Bucket: 'media-out', Key: `assets/${ASSET_ID}.json` })
    .callsFake(async () => ({ Body: s3Body(JSON.stringify(body)) }));

describe('SPEKE key provider handler', () => {
  let logs: string[];
  let sdkPlaintexts: Uint8Array[];

  beforeEach(() => {
    logs = [];
    sdkPlaintexts = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logs.push(String(chunk));
      return true;
    });
    s3Mock.reset();
    kmsMock.reset();
    kmsMock.on(DecryptCommand).callsFake(async () => {
      const plaintext = new Uint8Array(PLAIN_KEY);
      sdkPlaintexts.push(plaintext);
      return { Plaintext: plaintext, KeyId: PLAYBACK_KEY_ARN };
    });
    serveRecord(GOOD);
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('answers with the playback key and the key service URL, decrypting only the SPEKE copy', async () => {
    // Act
    const res = await handler(event());
    // Assess
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({
      'Content-Type': 'application/xml',
      'Speke-User-Agent': expect.any(String),
    });
    expect(Buffer.from(plainValue(res.body) ?? '', 'base64')).toEqual(PLAIN_KEY);
    expect(uriExtXKey(res.body)).toBe(`https://keys.example.com/keys/${ASSET_ID}`);
    expect(kmsMock).toHaveReceivedCommandTimes(DecryptCommand, 1);
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {
      KeyId: PLAYBACK_KEY_ARN,
      EncryptionContext: SPEKE_CONTEXT,
      CiphertextBlob: Buffer.from(SPEKE_BLOB, 'base64'),
    });
  });

  it('gives the same key on every retry for a content id', async () => {
    // Act
    const first = await handler(event());
    const retry = await handler(event());
    // Assess
    expect(plainValue(retry.body)).toBe(plainValue(first.body));
  });

  it('never logs the key and scrubs the SDK copy of the plaintext', async () => {
    // Act
    const res = await handler(event());
    // Assess
    expect(res.statusCode).toBe(200);
    const logged = logs.join('');
    expect(logged).toContain('SPEKE key served');
    expect(logged).toContain(ASSET_ID);
    expect(logged).not.toContain(PLAIN_KEY.toString('base64'));
    expect(logged).not.toContain(PLAIN_KEY.toString('hex'));
    expect(logged).not.toContain('PlainValue');
    expect(sdkPlaintexts.every((p) => p.every((b) => b === 0))).toBe(true);
  });

  it('reads a base64-encoded body', async () => {
    // Prepare
    const e = event();
    e.body = Buffer.from(e.body ?? '').toString('base64');
    e.isBase64Encoded = true;
    // Act
    const res = await handler(e);
    // Assess
    expect(res.statusCode).toBe(200);
  });

  it('refuses an unknown system id with 400 before reading any record', async () => {
    // Act
    const res = await handler(event('cpix-request.invalid'));
    // Assess
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'unsupported_system_id' });
    expect(s3Mock).not.toHaveReceivedCommand(GetObjectCommand);
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('refuses a SPEKE v2.0 request clearly', async () => {
    // Prepare
    const e = event();
    e.headers = { ...e.headers, 'X-Speke-Version': '2.0' };
    // Act
    const res = await handler(e);
    // Assess
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({
      error: 'unsupported_version',
      message: expect.stringContaining('SPEKE v1'),
    });
  });

  it('answers 404 for an unknown asset', async () => {
    // Prepare
    s3Mock.reset();
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no', $metadata: {} }));
    // Act
    const res = await handler(event());
    // Assess
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'asset_not_found' });
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('answers 404 for an asset without a SPEKE copy of its key', async () => {
    // Prepare
    serveRecord(record(undefined));
    // Act
    const res = await handler(event());
    // Assess
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'no_speke_key' });
  });

  it.each([
    ['the key service context', { service: 'key-service.secure-transcode', assetId: ASSET_ID }],
    ['the transcoder context of the source key', { service: 'mediaconvert.amazonaws.com' }],
    ['another asset', { service: 'speke-key-provider.secure-transcode', assetId: 'other-asset' }],
  ])('refuses to decrypt a blob under %s', async (_what, encryptionContext) => {
    // Prepare
    serveRecord(record({ wrappedKey: SPEKE_BLOB, kmsKeyId: PLAYBACK_KEY_ARN, encryptionContext }));
    // Act
    const res = await handler(event());
    // Assess
    expect(res.statusCode).toBe(500);
    expect(kmsMock).not.toHaveReceivedCommand(DecryptCommand);
  });

  it('answers 503 with Retry-After when KMS fails transiently, so the encryptor retries', async () => {
    // Prepare
    kmsMock
      .on(DecryptCommand)
      .rejects(new KMSInternalException({ message: 'busy', $metadata: { httpStatusCode: 500 } }));
    // Act
    const res = await handler(event());
    // Assess
    expect(res.statusCode).toBe(503);
    expect(res.headers).toMatchObject({ 'Retry-After': '1' });
  });

  it('refuses a key of the wrong length', async () => {
    // Prepare
    kmsMock.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(32) });
    // Act
    const res = await handler(event());
    // Assess
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain('PlainValue');
  });
});
