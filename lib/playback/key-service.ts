/**
 * The key service's domain logic, independent of HTTP: key delivery (consumes the token) and playlist delivery
 * (validates without consuming). Order in deliverKey is deliberate: throttle and verify before any I/O, unwrap the
 * key before consuming so a KMS hiccup does not burn the viewer's one-time token, and consume last so under
 * concurrent reuse the conditional write alone decides the single winner.
 */

import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { PlaybackConfig } from '../config/playback.js';
import { type AssetRecord, assetObjectKey, playlistObjectKey, readAssetRecord } from './asset-record.js';
import { PlaybackDeniedError } from './errors.js';
import type { PlaybackKeyProvider } from './key-delivery.js';
import { PlaylistRewriteError, rewritePlaylist } from './playlist.js';
import type { UrlSigner } from './signed-urls.js';
import type { TokenBucketLimiter } from './throttle.js';
import type { TokenUseStore } from './token-store.js';
import { type TokenClaims, verifyToken } from './tokens.js';
import { keyUrl, playUrl } from './urls.js';

export interface KeyServiceDeps {
  config: PlaybackConfig;
  secret: Buffer;
  s3: S3Client;
  keys: PlaybackKeyProvider;
  store: TokenUseStore;
  signer: UrlSigner;
  tokenLimiter: TokenBucketLimiter;
  clientLimiter: TokenBucketLimiter;
  now?: () => number;
}

export interface PlaybackRequest {
  assetId: string;
  token: string | undefined;
  /** The caller's address, for per-client throttling. */
  clientId: string;
}

export interface KeyDelivery {
  key: Buffer;
  claims: TokenClaims;
  uses: number;
}

export class KeyService {
  private readonly now: () => number;

  constructor(private readonly deps: KeyServiceDeps) {
    this.now = deps.now ?? Date.now;
  }

  private admit(request: PlaybackRequest): TokenClaims {
    if (!this.deps.clientLimiter.take(request.clientId)) throw new PlaybackDeniedError('throttled');
    return verifyToken(request.token, this.deps.secret, { assetId: request.assetId, now: this.now() });
  }

  private record(assetId: string): Promise<AssetRecord> {
    const { s3, config } = this.deps;
    return readAssetRecord({ s3, bucket: config.outputBucket, assetPrefix: config.assetPrefix }, assetId);
  }

  async deliverKey(request: PlaybackRequest): Promise<KeyDelivery> {
    const claims = this.admit(request);
    if (!this.deps.tokenLimiter.take(claims.jti)) throw new PlaybackDeniedError('throttled');
    const key = await this.deps.keys.keyFor(await this.record(request.assetId));
    const use = await this.deps.store
      .consume({ jti: claims.jti, assetId: claims.assetId, maxUses: claims.maxUses, exp: claims.exp })
      .catch((e: unknown) => {
        key.fill(0);
        throw e;
      });
    if (!use.consumed) {
      key.fill(0);
      throw new PlaybackDeniedError('token_used');
    }
    return { key, claims, uses: use.uses };
  }

  /** `playlist` is relative to the asset's output prefix, e.g. `index.m3u8` or `hls_1000k.m3u8`. */
  async renderPlaylist(request: PlaybackRequest & { playlist: string; baseUrl: string }): Promise<string> {
    this.admit(request);
    const record = await this.record(request.assetId);
    if (!playlistObjectKey(record, request.playlist)) throw new PlaybackDeniedError('playlist_not_found');
    const objectKey = this.objectKey(record, request.playlist);
    const object = await this.deps.s3.send(
      new GetObjectCommand({ Bucket: record.outputBucket, Key: objectKey }),
    );
    const text = (await object.Body?.transformToString('utf8')) ?? '';
    const token = request.token as string;
    // VOD players read a variant playlist once, so its segment URLs must stay valid for the whole viewing.
    const expiresAt = new Date(this.now() + this.deps.config.signedUrlTtlSeconds * 1000);
    return rewritePlaylist(text, {
      playlist: request.playlist,
      keyUrl: keyUrl(request.baseUrl, record.assetId, token),
      playlistUrl: (p) => playUrl(request.baseUrl, record.assetId, p, token),
      signMedia: (k) =>
        this.deps.signer.sign(record.outputBucket, this.objectKey(record, k), expiresAt, record.assetId),
    });
  }

  /** Only this asset's own outputs are read or signed, whatever its record or playlists say (asset-record.ts). */
  private objectKey(record: AssetRecord, relative: string): string {
    const key = assetObjectKey(record, this.deps.config.outputPrefix, relative);
    if (!key)
      throw new PlaylistRewriteError(`Asset ${record.assetId} names ${relative} outside its own outputs`);
    return key;
  }
}
