import {
  DecryptCommand,
  DescribeKeyCommand,
  DisabledException,
  GenerateDataKeyWithoutPlaintextCommand,
  InvalidCiphertextException,
  KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { KmsInvalidCiphertextError, KmsKeyUnavailableError, KmsThrottledError } from '../../../lib/errors.js';
import { ELASTIC_TRANSCODER_CONTEXT } from '../../../lib/kms/contexts.js';
import { decryptDataKey, generateWrappedKey, keyMd5, wrapForTarget } from '../../../lib/kms/keys.js';

const kmsMock = mockClient(KMSClient);
const client = new KMSClient({ region: 'us-east-1' });
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const OTHER_ARN = 'arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555';
// The Elastic Transcoder tutorial's CiphertextBlob ("Using client-side encryption", step 4).
const TUTORIAL_BLOB =
  'CiCCgQY/OrQ5/gdcoup5mIrqT/WTIjxM6ZSge+uRZ7tiAhKXAQEBAgB4goEGPzq0Of4HXKLqeZiK6k/1kyI8TOmUoHvrkWe7YgIAAABuMGwGCSqGSIb3DQEHBqBfMF0CAQAwWAYJKoZIhvcNAQcBMB4GCWCGSAFlAwQBLjARBAxIEi6/cfLGY+6ia0UCARCAK5wHYxg+3oHCzX4B4RqUY9N+YmVRooWmncNN4NKduc6jA/m+A+cKAFSvuF0=';

beforeEach(() => {
  kmsMock.reset();
});

describe('keyMd5', () => {
  it('is the MD5 of the ciphertext blob bytes, reproducing the tutorial vector', () => {
    // Assess
    expect(keyMd5(TUTORIAL_BLOB)).toBe('zG9MId7htnmIZEWCXXG5yg==');
    expect(keyMd5(Buffer.from(TUTORIAL_BLOB, 'base64'))).toBe('zG9MId7htnmIZEWCXXG5yg==');
  });

  it('is not the MD5 of the plaintext key', () => {
    // Assess
    expect(keyMd5(TUTORIAL_BLOB)).not.toBe('tNUOedzRVo2ZuD6uq6u6Xw==');
  });
});

describe('generateWrappedKey', () => {
  it('asks KMS for a key without plaintext under the Elastic Transcoder context', async () => {
    // Prepare
    const blob = Buffer.from('opaque-kms-blob');
    kmsMock.on(GenerateDataKeyWithoutPlaintextCommand).resolves({ CiphertextBlob: blob, KeyId: KEY_ARN });
    // Act
    const wrapped = await generateWrappedKey(
      { kmsKeyId: 'alias/x', bits: 128, encryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT } },
      client,
    );
    // Assess
    expect(kmsMock).toHaveReceivedCommandWith(GenerateDataKeyWithoutPlaintextCommand, {
      KeyId: 'alias/x',
      KeySpec: 'AES_128',
      EncryptionContext: { service: 'elastictranscoder.amazonaws.com' },
    });
    expect(wrapped).toEqual({
      wrappedKey: blob.toString('base64'),
      keyMd5: keyMd5(blob),
      kmsKeyId: KEY_ARN,
      encryptionContext: { service: 'elastictranscoder.amazonaws.com' },
    });
  });

  it('asks for 24 bytes for a 192-bit key (KMS has no AES_192 spec)', async () => {
    // Prepare
    kmsMock
      .on(GenerateDataKeyWithoutPlaintextCommand)
      .resolves({ CiphertextBlob: Buffer.from('b'), KeyId: KEY_ARN });
    // Act
    await generateWrappedKey({ kmsKeyId: KEY_ARN, bits: 192, encryptionContext: {} }, client);
    // Assess
    expect(kmsMock).toHaveReceivedCommandWith(GenerateDataKeyWithoutPlaintextCommand, { NumberOfBytes: 24 });
  });

  it.each([
    [
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      }),
      KmsThrottledError,
    ],
    [new DisabledException({ message: 'key is disabled', $metadata: {} }), KmsKeyUnavailableError],
    [
      Object.assign(new Error('denied'), {
        name: 'AccessDeniedException',
        $metadata: { httpStatusCode: 400 },
      }),
      KmsKeyUnavailableError,
    ],
  ])('translates %p', async (sdkError, expected) => {
    // Prepare
    kmsMock.on(GenerateDataKeyWithoutPlaintextCommand).rejects(sdkError);
    // Act
    const p = generateWrappedKey({ kmsKeyId: KEY_ARN, bits: 128, encryptionContext: {} }, client);
    // Assess
    await expect(p).rejects.toThrow(expected);
  });
});

describe('decryptDataKey', () => {
  it('scrubs the SDK’s copy of the plaintext after copying it out', async () => {
    // Prepare
    const sdkPlaintext = new Uint8Array(16).fill(9);
    kmsMock.on(DecryptCommand).resolves({ Plaintext: sdkPlaintext, KeyId: KEY_ARN });
    // Act
    const key = await decryptDataKey(
      { wrappedKey: 'AAAA', kmsKeyId: KEY_ARN, encryptionContext: {} },
      client,
    );
    // Assess
    expect(key).toEqual(Buffer.alloc(16, 9));
    expect(sdkPlaintext.every((b) => b === 0)).toBe(true);
  });

  it('refuses a plaintext of another length than expected, scrubbing it', async () => {
    // Prepare
    const sdkPlaintext = new Uint8Array(32).fill(5);
    kmsMock.on(DecryptCommand).resolves({ Plaintext: sdkPlaintext, KeyId: KEY_ARN });
    // Act
    const attempt = decryptDataKey(
      { wrappedKey: 'AAAA', kmsKeyId: KEY_ARN, encryptionContext: {} },
      client,
      16,
    );
    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'KmsInvalidCiphertextError' });
    expect(sdkPlaintext.every((b) => b === 0)).toBe(true);
  });

  it('decrypts under the blob’s encryption context', async () => {
    // Prepare
    kmsMock.on(DecryptCommand).resolves({ Plaintext: new Uint8Array(16).fill(7), KeyId: KEY_ARN });
    // Act
    const key = await decryptDataKey(
      { wrappedKey: 'AAAA', kmsKeyId: KEY_ARN, encryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT } },
      client,
    );
    // Assess
    expect(key).toEqual(Buffer.alloc(16, 7));
    expect(kmsMock).toHaveReceivedCommandWith(DecryptCommand, {
      EncryptionContext: { service: 'elastictranscoder.amazonaws.com' },
    });
  });

  it('turns a tampered or wrong-context blob into KmsInvalidCiphertextError without echoing the blob', async () => {
    // Prepare
    kmsMock.on(DecryptCommand).rejects(new InvalidCiphertextException({ message: 'bad', $metadata: {} }));
    // Act
    const p = decryptDataKey({ wrappedKey: 'QUJDRA==', kmsKeyId: KEY_ARN, encryptionContext: {} }, client);
    // Assess
    await expect(p).rejects.toThrow(KmsInvalidCiphertextError);
    await expect(p).rejects.not.toThrow(/QUJDRA/);
  });
});

describe('wrapForTarget', () => {
  const wrapped = {
    wrappedKey: Buffer.from('blob').toString('base64'),
    keyMd5: keyMd5(Buffer.from('blob')),
    kmsKeyId: KEY_ARN,
    encryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT },
  };

  it('does not re-encrypt when key and context already match', async () => {
    // Act
    const out = await wrapForTarget(
      wrapped,
      { kmsKeyId: KEY_ARN, encryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT } },
      client,
    );
    // Assess
    expect(out.reEncrypted).toBe(false);
    expect(out.wrappedKey).toBe(wrapped.wrappedKey);
    expect(kmsMock).not.toHaveReceivedCommand(ReEncryptCommand);
  });

  it('resolves an alias before deciding that keys differ, then re-encrypts inside KMS', async () => {
    // Prepare
    kmsMock
      .on(DescribeKeyCommand, { KeyId: 'alias/transcoder' })
      .resolves({ KeyMetadata: { KeyId: 'k', Arn: OTHER_ARN, Enabled: true } });
    kmsMock.on(ReEncryptCommand).resolves({ CiphertextBlob: Buffer.from('new-blob'), KeyId: OTHER_ARN });
    // Act
    const out = await wrapForTarget(
      wrapped,
      { kmsKeyId: 'alias/transcoder', encryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT } },
      client,
    );
    // Assess
    expect(out).toEqual({
      wrappedKey: Buffer.from('new-blob').toString('base64'),
      keyMd5: keyMd5(Buffer.from('new-blob')),
      kmsKeyId: OTHER_ARN,
      encryptionContext: { service: 'elastictranscoder.amazonaws.com' },
      reEncrypted: true,
    });
    expect(kmsMock).toHaveReceivedCommandWith(ReEncryptCommand, {
      SourceEncryptionContext: { service: 'elastictranscoder.amazonaws.com' },
      DestinationEncryptionContext: { service: 'elastictranscoder.amazonaws.com' },
      DestinationKeyId: 'alias/transcoder',
    });
  });

  it('re-encrypts when only the context differs', async () => {
    // Prepare
    kmsMock.on(ReEncryptCommand).resolves({ CiphertextBlob: Buffer.from('x'), KeyId: KEY_ARN });
    // Act
    const out = await wrapForTarget(
      { ...wrapped, encryptionContext: { app: 'other' } },
      { kmsKeyId: KEY_ARN, encryptionContext: { ...ELASTIC_TRANSCODER_CONTEXT } },
      client,
    );
    // Assess
    expect(out.reEncrypted).toBe(true);
  });
});
