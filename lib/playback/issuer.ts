/** Token issuing for the business side: the library call behind `POST /tokens` and `secure-transcode token`. */
import type { S3Client } from '@aws-sdk/client-s3';
import { readAssetRecord } from './asset-record.js';
import { issueToken } from './tokens.js';
import { keyUrl, playUrl } from './urls.js';

export interface TokenIssuerDeps {
  secret: Buffer;
  s3: S3Client;
  /** Where asset records live. */
  bucket: string;
  assetPrefix: string;
  defaults: { ttlSeconds: number; maxUses: number };
  now?: () => number;
}

export interface IssueRequest {
  assetId: string;
  ttlSeconds?: number;
  maxUses?: number;
  viewerId?: string;
  /** Public base URL of the key service. */
  baseUrl: string;
}

export interface IssuedPlayback {
  token: string;
  expiresAt: string;
  keyUrl: string;
  playUrl: string;
}

export class TokenIssuer {
  constructor(private readonly deps: TokenIssuerDeps) {}

  /** Refuses (asset_not_found) to issue for an asset without a record, so a typo fails here and not in the player. */
  async issue(request: IssueRequest): Promise<IssuedPlayback> {
    const { s3, bucket, assetPrefix, defaults, secret } = this.deps;
    const record = await readAssetRecord({ s3, bucket, assetPrefix }, request.assetId);
    const issued = issueToken(
      {
        assetId: record.assetId,
        ttlSeconds: request.ttlSeconds ?? defaults.ttlSeconds,
        maxUses: request.maxUses ?? defaults.maxUses,
        ...(request.viewerId === undefined ? {} : { viewerId: request.viewerId }),
        ...(this.deps.now ? { now: this.deps.now() } : {}),
      },
      secret,
    );
    return {
      token: issued.token,
      expiresAt: issued.expiresAt.toISOString(),
      keyUrl: keyUrl(request.baseUrl, record.assetId, issued.token),
      playUrl: playUrl(request.baseUrl, record.assetId, record.masterPlaylist, issued.token),
    };
  }
}
