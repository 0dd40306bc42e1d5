/**
 * The local SPEKE key provider over real HTTP, with the local KMS and S3: requests SigV4-signed with the stack's
 * credentials, as MediaConvert's job role signs them. Malformed CPIX is answered 4xx, never 5xx, and only the SPEKE
 * copy of a playback key under the playback KMS key is ever served.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenerateDataKeyCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { ELASTIC_TRANSCODER_CONTEXT, spekeKeyProviderContext } from '../../../lib/kms/contexts.js';
import { logger } from '../../../lib/logger.js';
import { CLEAR_KEY_AES_128_SYSTEM_ID } from '../../../lib/speke/cpix.js';
import { type KmsServer, startKmsServer } from '../../../local/kms/index.js';
import { type SpekeServer, startSpekeServer } from '../../../local/speke/index.js';
import type { StackCredentials } from '../../../local/stack/credentials.js';
import { dataDirCredentials, TEST_REGION } from '../../support/credentials.js';

const BUCKET = 'media';
const GENUINE = 'a00000000000000000000031';
const FORGED = 'a00000000000000000000032';
const KID = '6c5f5206-7d98-4808-84d8-94f132c1e9fe';

/** A SPEKE v1 request as MediaConvert sends it for HLS AES-128, with `inside` placed in its ContentKey. */
function cpix(assetId: string, inside = ''): string {
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<cpix:CPIX id="${assetId}" xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" xmlns:speke="urn:aws:amazon:com:speke">`,
    `<cpix:ContentKeyList><cpix:ContentKey kid="${KID}">${inside}</cpix:ContentKey></cpix:ContentKeyList>`,
    `<cpix:DRMSystemList><cpix:DRMSystem kid="${KID}" systemId="${CLEAR_KEY_AES_128_SYSTEM_ID}">`,
    '<speke:KeyFormat /><speke:KeyFormatVersions /><cpix:URIExtXKey />',
    '</cpix:DRMSystem></cpix:DRMSystemList>',
    '</cpix:CPIX>',
  ].join('\n');
}

describe('local SPEKE key provider over HTTP', () => {
  let dataDir: string;
  let credentials: StackCredentials;
  let fauxqs: FauxqsServer;
  let kmsServer: KmsServer;
  let speke: SpekeServer;
  let s3: S3Client;
  let kms: KMSClient;
  let genuineKey: Buffer;
  let sourceKey: Buffer;

  /** POSTs `body` to the provider, signed for `execute-api` with the stack's credentials. */
  async function ask(body: string): Promise<{ status: number; body: string }> {
    const url = new URL(speke.url);
    const signed = await new SignatureV4({
      credentials,
      region: TEST_REGION,
      service: 'execute-api',
      sha256: Hash.bind(null, 'sha256'),
    }).sign({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/xml' },
      body,
    });
    const res = await fetch(speke.url, { method: 'POST', headers: signed.headers, body });
    return { status: res.status, body: await res.text() };
  }

  async function putRecord(assetId: string, spekeKey: object): Promise<void> {
    await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: `assets/${assetId}.json`,
        Body: JSON.stringify({ assetId, spekeKey }),
      }),
    );
  }

  beforeAll(async () => {
    logger.setLogLevel('SILENT');
    dataDir = await mkdtemp(join(tmpdir(), 'st-speke-'));
    const creds = dataDirCredentials(dataDir);
    credentials = creds.credentials;
    fauxqs = await startFauxqs({ port: 0, logger: false });
    fauxqs.createBucket(BUCKET);
    const s3Endpoint = `http://127.0.0.1:${fauxqs.port}`;
    kmsServer = await startKmsServer({ dataDir: join(dataDir, 'kms'), auth: creds.auth });
    const { keyId: workflowKeyId } = await kmsServer.createKey('workflow test key');
    const { keyId: playbackKeyId } = await kmsServer.createKey('playback test key');
    const common = { region: TEST_REGION, credentials: { ...credentials } };
    s3 = new S3Client({ ...common, endpoint: s3Endpoint, forcePathStyle: true });
    kms = new KMSClient({ ...common, endpoint: kmsServer.endpoint });
    speke = await startSpekeServer({
      region: TEST_REGION,
      s3: { endpoint: s3Endpoint },
      kms: { endpoint: kmsServer.endpoint },
      credentials: { ...credentials },
      bucket: BUCKET,
      assetPrefix: 'assets/',
      keyServiceUrl: 'https://keys.example.test',
      playbackKmsKeyId: playbackKeyId,
    });

    // A genuine asset: its SPEKE copy is a data key under the playback KMS key in its SPEKE context.
    const genuine = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: playbackKeyId,
        KeySpec: 'AES_128',
        EncryptionContext: { ...spekeKeyProviderContext(GENUINE) },
      }),
    );
    genuineKey = Buffer.from(genuine.Plaintext ?? []);
    await putRecord(GENUINE, {
      wrappedKey: Buffer.from(genuine.CiphertextBlob ?? []).toString('base64'),
      kmsKeyId: playbackKeyId,
      encryptionContext: spekeKeyProviderContext(GENUINE),
    });

    // The attack, with the stack's credentials: a source key (workflow key, Elastic Transcoder context) re-wrapped
    // under the workflow key into the SPEKE context of an asset, and published in that asset's record.
    const source = await kms.send(
      new GenerateDataKeyCommand({
        KeyId: workflowKeyId,
        KeySpec: 'AES_128',
        EncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
      }),
    );
    sourceKey = Buffer.from(source.Plaintext ?? []);
    const rewrapped = await kms.send(
      new ReEncryptCommand({
        CiphertextBlob: source.CiphertextBlob,
        SourceEncryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
        DestinationKeyId: workflowKeyId,
        DestinationEncryptionContext: { ...spekeKeyProviderContext(FORGED) },
      }),
    );
    await putRecord(FORGED, {
      wrappedKey: Buffer.from(rewrapped.CiphertextBlob ?? []).toString('base64'),
      kmsKeyId: workflowKeyId,
      encryptionContext: spekeKeyProviderContext(FORGED),
    });
  });

  afterAll(async () => {
    s3?.destroy();
    kms?.destroy();
    await speke?.stop();
    await kmsServer?.stop();
    await fauxqs?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the playback key of a genuine asset to a signed request', async () => {
    // Act
    const answer = await ask(cpix(GENUINE));

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.body).toContain(`<pskc:PlainValue>${genuineKey.toString('base64')}</pskc:PlainValue>`);
  });

  it('refuses a record whose SPEKE copy is a source key re-wrapped under the workflow KMS key', async () => {
    // Act
    const answer = await ask(cpix(FORGED));

    // Assess: KMS refuses the blob under the pinned playback key id; the answer holds no key in any spelling
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'internal' });
    expect(answer.body).not.toContain('PlainValue');
    expect(answer.body).not.toContain(sourceKey.toString('base64'));
    expect(answer.body).not.toContain(sourceKey.toString('hex'));
  });

  it('answers a validly signed CPIX document nested 2,000 elements deep with 400, not 500', async () => {
    // Prepare: about 14 KB, well under the size limit
    const body = cpix(GENUINE, `${'<a>'.repeat(2000)}${'</a>'.repeat(2000)}`);
    expect(body.length).toBeGreaterThan(14_000);

    // Act
    const answer = await ask(body);

    // Assess
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'too_complex' });
  });

  it('answers a validly signed CPIX document of 5,000 sibling elements with 400', async () => {
    // Act
    const answer = await ask(cpix(GENUINE, '<b/>'.repeat(5000)));

    // Assess
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'too_complex' });
  });
});
