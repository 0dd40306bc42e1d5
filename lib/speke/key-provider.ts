/**
 * The SPEKE key provider: answers MediaConvert's CPIX request for an asset with that asset's playback key, the same
 * 16 bytes the key service gives a token holder, and the key service's URL as the EXT-X-KEY URI.
 *
 * Custody (docs/speke.md, "Key custody" item): it reads only the asset record's `spekeKey`, a copy of the playback
 * key wrapped under the playback KMS key with `{service: speke-key-provider.secure-transcode, assetId}`, and decrypts
 * only that, always with the configured playback KMS key as KeyId. It never sees the source key, and its role can
 * Decrypt nothing else. Every request for a content id gets the same key, so MediaConvert's retries and its several
 * calls per job agree.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { sameContext, spekeKeyProviderContext } from '../kms/contexts.js';
import { decryptDataKey } from '../kms/keys.js';
import { assetRecordKey } from '../playback/asset-record.js';
import { keyUrl } from '../playback/urls.js';
import { type CpixRequest, fillCpixResponse, parseCpixRequest } from './cpix.js';
import { SpekeKeyCustodyError, SpekeRequestError } from './errors.js';

const PLAYBACK_KEY_BYTES = 16;

const b64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'must be base64');
/** The part of the asset record this provider reads; everything else in the record is none of its business. */
const SpekeRecordSchema = z.object({
  assetId: z.string(),
  spekeKey: z
    .object({
      wrappedKey: b64,
      kmsKeyId: z.string().min(1),
      encryptionContext: z.record(z.string(), z.string()),
    })
    .optional(),
});

export interface SpekeKeyProviderOptions {
  s3: S3Client;
  kms: KMSClient;
  /** Where the asset records live (the output bucket) and under which prefix. */
  bucket: string;
  assetPrefix: string;
  /** The key service's public base URL: `URIExtXKey` is `<keyServiceUrl>/keys/<assetId>`. */
  keyServiceUrl: string;
  /**
   * The playback KMS key (PLAYBACK_KMS_KEY_ID), passed as KeyId on every Decrypt instead of the key id the record
   * names: a record whose spekeKey is any other key's blob (a source key re-wrapped under the workflow key into this
   * context, say) fails in KMS with IncorrectKeyException, as it does for the key service.
   */
  playbackKmsKeyId: string;
}

export interface SpekeAnswer {
  request: CpixRequest;
  /** The filled CPIX document (it carries the key: send it, never log it). */
  body: string;
}

export class SpekeKeyProvider {
  constructor(private readonly options: SpekeKeyProviderOptions) {}

  /** Throws SpekeRequestError (4xx), SpekeKeyCustodyError or a KMS error (5xx). */
  async answer(body: string, headers: Readonly<Record<string, string | undefined>>): Promise<SpekeAnswer> {
    const version = headerOf(headers, 'x-speke-version');
    if (version !== undefined && version.trim() !== '1.0') {
      throw new SpekeRequestError(
        'unsupported_version',
        `SPEKE ${version.slice(0, 16)} is not supported: this provider speaks SPEKE v1 (MediaConvert's only version ` +
          'for HLS AES-128); leave EncryptionContractConfiguration out of the job settings',
      );
    }
    const request = parseCpixRequest(body);
    const key = await this.keyFor(request.contentId);
    try {
      const filled = fillCpixResponse(request, {
        key,
        keyUri: keyUrl(this.options.keyServiceUrl, request.contentId),
      });
      return { request, body: filled };
    } finally {
      key.fill(0);
    }
  }

  private async keyFor(assetId: string): Promise<Buffer> {
    const record = await this.readRecord(assetId);
    const wrapped = record.spekeKey;
    if (!wrapped) {
      throw new SpekeRequestError(
        'no_speke_key',
        `Asset ${assetId} has no key for SPEKE (not a MediaConvert asset)`,
      );
    }
    if (
      record.assetId !== assetId ||
      !sameContext(wrapped.encryptionContext, spekeKeyProviderContext(assetId))
    ) {
      // Refused before KMS: this provider decrypts nothing but the SPEKE copy of this asset's playback key.
      throw new SpekeKeyCustodyError(`Asset record ${assetId} does not hold a SPEKE key bound to this asset`);
    }
    // Decrypted only under the configured playback KMS key, never the key id the record names: KMS refuses any
    // other key's blob whatever IAM allows (defence in depth; the provider's role may Decrypt only that key).
    return decryptDataKey(
      {
        wrappedKey: wrapped.wrappedKey,
        kmsKeyId: this.options.playbackKmsKeyId,
        encryptionContext: { ...spekeKeyProviderContext(assetId) },
      },
      this.options.kms,
      PLAYBACK_KEY_BYTES,
    );
  }

  private async readRecord(assetId: string): Promise<z.infer<typeof SpekeRecordSchema>> {
    const out = await this.options.s3
      .send(
        new GetObjectCommand({
          Bucket: this.options.bucket,
          Key: assetRecordKey(this.options.assetPrefix, assetId),
        }),
      )
      .catch((e: unknown) => {
        if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw e;
      });
    if (!out?.Body) throw new SpekeRequestError('asset_not_found', `No asset ${assetId}`);
    return SpekeRecordSchema.parse(JSON.parse(await out.Body.transformToString('utf8')));
  }
}

function headerOf(headers: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === name);
  return entry?.[1];
}
