/**
 * A real playback stack on loopback for the integration and browser tests: fauxqs S3, the local KMS server, the
 * local key service (with dynalite), and an asset whose playback key is a real KMS data key — generated under the
 * playback KMS key in the asset's key-service context and ReEncrypted within that key into the SPEKE context, as
 * GenerateKeys does — and synthetic playlists (real encrypted media is covered by the workflow browser test). The
 * workflow KMS key exists too, so tests can hand the key service blobs made under it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GenerateDataKeyCommand, KMSClient, ReEncryptCommand } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { type FauxqsServer, startFauxqs } from 'fauxqs';
import { keyServiceContext, spekeKeyProviderContext } from '../../lib/kms/contexts.js';
import { type AssetRecord, writeAssetRecord } from '../../lib/playback/asset-record.js';
import { type KmsServer, startKmsServer } from '../../local/kms/index.js';
import { type LocalKeyService, startKeyService } from '../../local/playback/server.js';
import type { StackCredentials } from '../../local/stack/credentials.js';
import { dataDirCredentials } from './credentials.js';

export const REGION = 'us-east-1';
export const BUCKET = 'media';

export interface PlaybackHarness {
  dataDir: string;
  /** The data directory's credentials: KMS and `POST /tokens` accept only requests signed with them. */
  credentials: StackCredentials;
  fauxqs: FauxqsServer;
  kmsServer: KmsServer;
  /** The workflow KMS key (source data keys) and the playback KMS key (PLAYBACK_KMS_KEY_ID). */
  workflowKeyId: string;
  playbackKeyId: string;
  keyService: LocalKeyService;
  s3: S3Client;
  s3Endpoint: string;
  record: AssetRecord;
  /** The plaintext playback key, for assertions only. */
  plaintextKey: Buffer;
  /** Objects uploaded under the output prefix, by relative key. */
  objects: Map<string, Buffer>;
  keyServiceEnv: Record<string, string>;
  restartKeyService(): Promise<void>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  assetId: string;
  env?: Record<string, string>;
}

/** Playlists whose segments are opaque bytes: enough to exercise routing, signing and the proxy. */
function syntheticHls(keyUri: string): Map<string, Buffer> {
  return new Map([
    ['index.m3u8', Buffer.from('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=400000\nhls_400k.m3u8\n')],
    [
      'hls_400k.m3u8',
      Buffer.from(
        `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI="${keyUri}",IV=0x00000000000000000000000000000001\n#EXTINF:2.0,\nhls_400k00000.ts\n#EXT-X-ENDLIST\n`,
      ),
    ],
    ['hls_400k00000.ts', Buffer.from('segment-bytes-0123456789')],
  ]);
}

export async function startPlaybackHarness(options: HarnessOptions): Promise<PlaybackHarness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'st-playback-'));
  const { credentials: CREDENTIALS, auth } = dataDirCredentials(dataDir);
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  fauxqs.createBucket(BUCKET);
  const s3Endpoint = `http://127.0.0.1:${fauxqs.port}`;
  const kmsServer = await startKmsServer({ dataDir: join(dataDir, 'kms'), auth });
  const { keyId: workflowKeyId } = await kmsServer.createKey('workflow test key');
  const { keyId: playbackKeyId } = await kmsServer.createKey('playback test key');

  const s3 = new S3Client({
    region: REGION,
    credentials: CREDENTIALS,
    endpoint: s3Endpoint,
    forcePathStyle: true,
  });
  const kms = new KMSClient({ region: REGION, credentials: CREDENTIALS, endpoint: kmsServer.endpoint });
  // GenerateDataKey (with plaintext) only so the tests can assert on the key; the workflow never sees it.
  const dataKey = await kms.send(
    new GenerateDataKeyCommand({
      KeyId: playbackKeyId,
      KeySpec: 'AES_128',
      EncryptionContext: { ...keyServiceContext(options.assetId) },
    }),
  );
  const speke = await kms.send(
    new ReEncryptCommand({
      CiphertextBlob: dataKey.CiphertextBlob,
      SourceKeyId: playbackKeyId,
      SourceEncryptionContext: { ...keyServiceContext(options.assetId) },
      DestinationKeyId: playbackKeyId,
      DestinationEncryptionContext: { ...spekeKeyProviderContext(options.assetId) },
    }),
  );
  kms.destroy();
  const plaintextKey = Buffer.from(dataKey.Plaintext ?? new Uint8Array());
  const blob = Buffer.from(dataKey.CiphertextBlob ?? new Uint8Array());

  const keyServiceEnv: Record<string, string> = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: s3Endpoint,
    AWS_ENDPOINT_URL_KMS: kmsServer.endpoint,
    OUTPUT_BUCKET: BUCKET,
    PLAYBACK_KMS_KEY_ID: playbackKeyId,
    ...options.env,
  };
  let keyService = await startKeyService({ dataDir, env: keyServiceEnv });

  const outputKeyPrefix = `outputs/${options.assetId}/clip/`;
  const objects = syntheticHls(keyService.keyUrl(options.assetId));
  for (const [name, body] of objects) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `${outputKeyPrefix}${name}`, Body: body }));
  }
  const record: AssetRecord = {
    assetId: options.assetId,
    playbackKey: {
      wrappedKey: blob.toString('base64'),
      kmsKeyId: playbackKeyId,
      encryptionContext: { ...keyServiceContext(options.assetId) },
    },
    spekeKey: {
      wrappedKey: Buffer.from(speke.CiphertextBlob ?? new Uint8Array()).toString('base64'),
      kmsKeyId: playbackKeyId,
      encryptionContext: { ...spekeKeyProviderContext(options.assetId) },
    },
    outputBucket: BUCKET,
    outputKeyPrefix,
    masterPlaylist: 'index.m3u8',
    playlists: ['hls_400k.m3u8'],
  };
  await writeAssetRecord({ s3, bucket: BUCKET, assetPrefix: 'assets/' }, record);

  const harness: PlaybackHarness = {
    dataDir,
    credentials: { ...CREDENTIALS },
    fauxqs,
    kmsServer,
    workflowKeyId,
    playbackKeyId,
    get keyService() {
      return keyService;
    },
    s3,
    s3Endpoint,
    record,
    plaintextKey,
    objects,
    keyServiceEnv,
    async restartKeyService() {
      await keyService.stop();
      keyService = await startKeyService({ dataDir, env: keyServiceEnv });
    },
    async stop() {
      await keyService.stop();
      s3.destroy();
      await kmsServer.stop();
      await fauxqs.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}
