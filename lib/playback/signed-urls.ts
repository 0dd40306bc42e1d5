/**
 * Short-lived URLs for segments. S3 presigned GETs by default; CloudFront signed URLs with a custom policy when a
 * distribution and key pair are configured (CloudFront's custom policy: policy JSON, RSA-SHA1 signature, URL-safe base64).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl as cloudFrontSignedUrl } from '@aws-sdk/cloudfront-signer';
import { getSignedUrl as s3SignedUrl } from '@aws-sdk/s3-request-presigner';

export interface UrlSigner {
  /**
   * A URL that lets anyone GET `bucket/key` until `expiresAt`. `assetId` names the asset whose playlist the URL is
   * for; the local stack's proxy serves the URL only for that asset's outputs (the cloud signers ignore it).
   */
  sign(bucket: string, key: string, expiresAt: Date, assetId?: string): Promise<string>;
}

export class S3PresignedUrlSigner implements UrlSigner {
  constructor(private readonly s3: S3Client) {}

  async sign(bucket: string, key: string, expiresAt: Date): Promise<string> {
    const expiresIn = Math.max(1, Math.ceil((expiresAt.getTime() - Date.now()) / 1000));
    return s3SignedUrl(this.s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn });
  }
}

export interface CloudFrontSignerOptions {
  /** Distribution domain, e.g. `d111111abcdef8.cloudfront.net`; its origin is the output bucket. */
  domain: string;
  keyPairId: string;
  privateKey: string;
}

export function cloudFrontObjectUrl(domain: string, key: string): string {
  return `https://${domain}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** The custom policy: one resource, one expiry. A custom (not canned) policy leaves room for IP or start-time rules. */
export function cloudFrontPolicy(resource: string, expiresAt: Date): string {
  return JSON.stringify({
    Statement: [
      {
        Resource: resource,
        Condition: { DateLessThan: { 'AWS:EpochTime': Math.floor(expiresAt.getTime() / 1000) } },
      },
    ],
  });
}

export class CloudFrontUrlSigner implements UrlSigner {
  constructor(private readonly options: CloudFrontSignerOptions) {}

  async sign(_bucket: string, key: string, expiresAt: Date): Promise<string> {
    const url = cloudFrontObjectUrl(this.options.domain, key);
    return cloudFrontSignedUrl({
      url,
      keyPairId: this.options.keyPairId,
      privateKey: this.options.privateKey,
      policy: cloudFrontPolicy(url, expiresAt),
    });
  }
}
