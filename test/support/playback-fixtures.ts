/** Shared fixtures for the playback unit tests: real-shaped HTTP API events and an asset record. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { GetObjectCommandOutput } from '@aws-sdk/client-s3';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { AssetRecord } from '../../lib/playback/asset-record.js';

type EventName = 'get-key' | 'get-playlist' | 'issue-token' | 'issue-token.invalid';

const cache = new Map<EventName, APIGatewayProxyEventV2>();

/** A fresh copy of `events/playback/<name>.json`, safe to mutate. */
export function httpEvent(name: EventName, token?: string): APIGatewayProxyEventV2 {
  let event = cache.get(name);
  if (!event) {
    event = JSON.parse(readFileSync(new URL(`../../events/playback/${name}.json`, import.meta.url), 'utf8'));
    cache.set(name, event as APIGatewayProxyEventV2);
  }
  const copy = structuredClone(event) as APIGatewayProxyEventV2;
  if (token !== undefined) {
    copy.queryStringParameters = { token };
    copy.rawQueryString = `token=${encodeURIComponent(token)}`;
  }
  return copy;
}

export const ASSET_ID = 'a0123456789abcdef0123456';
/** The playback KMS key (PLAYBACK_KMS_KEY_ID) the key service decrypts with. */
export const PLAYBACK_KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
export const WRAPPED_BLOB = randomBytes(184);
export const PLAIN_KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

export const RECORD: AssetRecord = {
  assetId: ASSET_ID,
  playbackKey: {
    wrappedKey: WRAPPED_BLOB.toString('base64'),
    kmsKeyId: PLAYBACK_KEY_ARN,
    encryptionContext: { service: 'key-service.secure-transcode', assetId: ASSET_ID },
  },
  spekeKey: {
    wrappedKey: randomBytes(184).toString('base64'),
    kmsKeyId: PLAYBACK_KEY_ARN,
    encryptionContext: { service: 'speke-key-provider.secure-transcode', assetId: ASSET_ID },
  },
  outputBucket: 'media-out',
  outputKeyPrefix: `outputs/${ASSET_ID}/clip/`,
  masterPlaylist: 'index.m3u8',
  playlists: ['hls_1000k.m3u8'],
};

/** The part of an S3 GetObject body the code under test reads. */
export function s3Body(text: string): GetObjectCommandOutput['Body'] {
  return { transformToString: async () => text } as unknown as GetObjectCommandOutput['Body'];
}
