import { randomBytes } from 'node:crypto';
import { GetObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { verifyToken } from '../../../../lib/playback/tokens.js';
import { lambdaContext } from '../../../support/lambda-context.js';
import { ASSET_ID, httpEvent, RECORD, s3Body } from '../../../support/playback-fixtures.js';

const SECRET = randomBytes(32);
const s3Mock = mockClient(S3Client);
const ssmMock = mockClient(SSMClient);

// The deployed module reads its configuration at import, exactly as a cold start does.
Object.assign(process.env, {
  TOKEN_TABLE: 'playback-tokens',
  TOKEN_SECRET_PARAM: '/aws/reference/secretsmanager/secure-transcode/token-secret',
  OUTPUT_BUCKET: 'media-out',
  TOKEN_TTL_SECONDS: '600',
});
const { handler } = await import('../../../../functions/issue-token/handler.js');

describe('issue-token handler', () => {
  beforeEach(() => {
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    s3Mock.reset();
    ssmMock.reset();
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: SECRET.toString('base64') } });
    s3Mock.on(GetObjectCommand).callsFake(async () => ({ Body: s3Body(JSON.stringify(RECORD)) }));
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('returns a token for the asset with its key and play URLs', async () => {
    // Act
    const res = await handler(
      httpEvent('issue-token'),
      lambdaContext('req-1', 'secure-transcode-dev-issueToken'),
    );

    // Assess
    expect(res.statusCode).toBe(201);
    const body = JSON.parse(res.body ?? '');
    const base = 'https://abc123.execute-api.eu-west-1.amazonaws.com';
    const q = `?token=${encodeURIComponent(body.token)}`;
    expect(body).toEqual({
      token: expect.any(String),
      expiresAt: expect.any(String),
      keyUrl: `${base}/keys/${ASSET_ID}${q}`,
      playUrl: `${base}/play/${ASSET_ID}/index.m3u8${q}`,
    });
    expect(verifyToken(body.token, SECRET, { assetId: ASSET_ID })).toMatchObject({
      maxUses: 1,
      viewerId: 'viewer-42',
    });
    expect(Date.parse(body.expiresAt) - Date.now()).toBeLessThanOrEqual(300_000);
    expect(ssmMock).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/aws/reference/secretsmanager/secure-transcode/token-secret',
      WithDecryption: true,
    });
  });

  it('answers 400 to a body with unknown fields or out-of-range values', async () => {
    const res = await handler(
      httpEvent('issue-token.invalid'),
      lambdaContext('req-1', 'secure-transcode-dev-issueToken'),
    );

    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body ?? '')).toEqual({ error: 'bad_request' });
  });

  it('answers 404 for an asset without a record', async () => {
    s3Mock.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'no such key', $metadata: {} }));

    const res = await handler(
      httpEvent('issue-token'),
      lambdaContext('req-1', 'secure-transcode-dev-issueToken'),
    );

    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body ?? '')).toEqual({ error: 'asset_not_found' });
  });
});
