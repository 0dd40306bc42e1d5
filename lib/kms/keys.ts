/**
 * KMS adapter: data keys travel only as ciphertext blobs. Plaintext exists only in `decryptDataKey`'s caller, which
 * must zero it after use. Every SDK exception is translated into the ASL error contract here.
 */
import { createHash } from 'node:crypto';
import {
  DecryptCommand,
  DescribeKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  type KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { kms as defaultKms } from '../clients.js';
import type { WrappedKey } from '../contracts.js';
import {
  isTransientSdkError,
  KmsInvalidCiphertextError,
  KmsKeyUnavailableError,
  KmsThrottledError,
  sdkErrorInfo,
} from '../errors.js';
import { sameContext } from './contexts.js';

/** KeyMd5 is over the ciphertext blob bytes, not the plaintext key (Elastic Transcoder tutorial, step 4). */
export function keyMd5(blob: Uint8Array | string): string {
  const bytes = typeof blob === 'string' ? Buffer.from(blob, 'base64') : blob;
  return createHash('md5').update(bytes).digest('base64');
}

const THROTTLE = new Set([
  'ThrottlingException',
  'LimitExceededException',
  'KMSInternalException',
  'DependencyTimeoutException',
]);
const UNAVAILABLE = new Set([
  'DisabledException',
  'NotFoundException',
  'KMSInvalidStateException',
  'AccessDeniedException',
  'AccessDeniedExceptionException',
  'KeyUnavailableException',
  'InvalidKeyUsageException',
  'UnrecognizedClientException',
]);
const BAD_CIPHERTEXT = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** Translates a KMS SDK exception; `what` names the operation for the message (never the key material). */
export function translateKmsError(e: unknown, what: string): Error {
  const { name, status, message } = sdkErrorInfo(e);
  const text = `KMS ${what} failed: ${name}${message && message !== name ? ` — ${message}` : ''}`;
  if (isTransientSdkError(e, THROTTLE)) {
    return new KmsThrottledError(text, { code: 'KMS_THROTTLED', cause: e });
  }
  if (BAD_CIPHERTEXT.has(name))
    return new KmsInvalidCiphertextError(text, { code: 'KMS_INVALID_CIPHERTEXT', cause: e });
  if (UNAVAILABLE.has(name) || status === 403) {
    return new KmsKeyUnavailableError(text, { code: 'KMS_KEY_UNAVAILABLE', cause: e });
  }
  return new KmsKeyUnavailableError(text, { code: 'KMS_ERROR', cause: e });
}

export interface GenerateKeyOptions {
  kmsKeyId: string;
  bits: 128 | 192 | 256;
  encryptionContext: Record<string, string>;
}

/** GenerateDataKeyWithoutPlaintext: the plaintext never leaves KMS here. */
export async function generateWrappedKey(
  opts: GenerateKeyOptions,
  client: KMSClient = defaultKms,
): Promise<WrappedKey> {
  const spec =
    opts.bits === 128
      ? { KeySpec: 'AES_128' as const }
      : opts.bits === 256
        ? { KeySpec: 'AES_256' as const }
        : { NumberOfBytes: 24 };
  const out = await client
    .send(
      new GenerateDataKeyWithoutPlaintextCommand({
        KeyId: opts.kmsKeyId,
        EncryptionContext: { ...opts.encryptionContext },
        ...spec,
      }),
    )
    .catch((e: unknown) => {
      throw translateKmsError(e, 'GenerateDataKeyWithoutPlaintext');
    });
  if (!out.CiphertextBlob)
    throw new KmsKeyUnavailableError('KMS returned no CiphertextBlob', { code: 'KMS_ERROR' });
  const blob = Buffer.from(out.CiphertextBlob);
  return {
    wrappedKey: blob.toString('base64'),
    keyMd5: keyMd5(blob),
    kmsKeyId: out.KeyId ?? opts.kmsKeyId,
    encryptionContext: { ...opts.encryptionContext },
  };
}

/**
 * Decrypt under the blob's own encryption context. The caller owns the returned buffer and must zero it.
 * `expectBytes` refuses a plaintext of another length (InvalidCiphertext), scrubbing it first: an HLS key is 16 bytes,
 * and a longer secret under the right KMS key and context must not be handed out as one.
 */
export async function decryptDataKey(
  wrapped: Pick<WrappedKey, 'wrappedKey' | 'kmsKeyId' | 'encryptionContext'>,
  client: KMSClient = defaultKms,
  expectBytes?: number,
): Promise<Buffer> {
  const out = await client
    .send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(wrapped.wrappedKey, 'base64'),
        KeyId: wrapped.kmsKeyId,
        EncryptionContext: { ...wrapped.encryptionContext },
      }),
    )
    .catch((e: unknown) => {
      throw translateKmsError(e, 'Decrypt');
    });
  if (!out.Plaintext)
    throw new KmsInvalidCiphertextError('KMS Decrypt returned no plaintext', { code: 'KMS_ERROR' });
  if (expectBytes !== undefined && out.Plaintext.length !== expectBytes) {
    out.Plaintext.fill(0);
    throw new KmsInvalidCiphertextError(`The decrypted key must be ${expectBytes} bytes`, {
      code: 'KMS_INVALID_CIPHERTEXT',
    });
  }
  // Copy, then scrub the SDK's own array: otherwise a second copy of the key lives until the GC reclaims it.
  const key = Buffer.from(out.Plaintext);
  out.Plaintext.fill(0);
  return key;
}

/** Resolves an alias or key id to the key ARN, so "same key?" compares like with like. */
export async function resolveKeyArn(keyId: string, client: KMSClient = defaultKms): Promise<string> {
  if (keyId.startsWith('arn:') && keyId.includes(':key/')) return keyId;
  const out = await client.send(new DescribeKeyCommand({ KeyId: keyId })).catch((e: unknown) => {
    throw translateKmsError(e, 'DescribeKey');
  });
  const arn = out.KeyMetadata?.Arn;
  if (!arn)
    throw new KmsKeyUnavailableError(`KMS DescribeKey returned no ARN for ${keyId}`, { code: 'KMS_ERROR' });
  if (out.KeyMetadata?.Enabled === false) {
    throw new KmsKeyUnavailableError(`KMS key ${arn} is disabled`, { code: 'KMS_KEY_UNAVAILABLE' });
  }
  return arn;
}

/**
 * Wraps a data key for the transcoder: its KMS key and its encryption context. ReEncrypt happens inside KMS (the
 * plaintext never reaches us) and only if the key or the context differ from what the blob already has.
 */
export async function wrapForTarget(
  wrapped: WrappedKey,
  target: { kmsKeyId: string; encryptionContext: Record<string, string> },
  client: KMSClient = defaultKms,
): Promise<WrappedKey & { reEncrypted: boolean }> {
  const targetArn = await resolveKeyArn(target.kmsKeyId, client);
  const sourceArn = await resolveKeyArn(wrapped.kmsKeyId, client);
  if (targetArn === sourceArn && sameContext(wrapped.encryptionContext, target.encryptionContext)) {
    return { ...wrapped, kmsKeyId: sourceArn, keyMd5: keyMd5(wrapped.wrappedKey), reEncrypted: false };
  }
  return { ...(await reEncryptWrappedKey(wrapped, target, client)), reEncrypted: true };
}

/**
 * ReEncrypt inside KMS (the plaintext never reaches us): the same data key under `destination`'s KMS key and
 * encryption context. KeyMd5 is computed over the new blob.
 */
export async function reEncryptWrappedKey(
  wrapped: WrappedKey,
  destination: { kmsKeyId: string; encryptionContext: Readonly<Record<string, string>> },
  client: KMSClient = defaultKms,
): Promise<WrappedKey> {
  const out = await client
    .send(
      new ReEncryptCommand({
        CiphertextBlob: Buffer.from(wrapped.wrappedKey, 'base64'),
        SourceKeyId: wrapped.kmsKeyId,
        SourceEncryptionContext: { ...wrapped.encryptionContext },
        DestinationKeyId: destination.kmsKeyId,
        DestinationEncryptionContext: { ...destination.encryptionContext },
      }),
    )
    .catch((e: unknown) => {
      throw translateKmsError(e, 'ReEncrypt');
    });
  if (!out.CiphertextBlob)
    throw new KmsKeyUnavailableError('KMS ReEncrypt returned no CiphertextBlob', { code: 'KMS_ERROR' });
  const blob = Buffer.from(out.CiphertextBlob);
  return {
    wrappedKey: blob.toString('base64'),
    keyMd5: keyMd5(blob),
    kmsKeyId: out.KeyId ?? destination.kmsKeyId,
    encryptionContext: { ...destination.encryptionContext },
  };
}
