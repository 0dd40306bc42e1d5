/**
 * The KMS operations, one function per `TrentService.<Op>` target, taking the parsed JSON request and returning the
 * JSON response. Binary fields are base64 strings on the wire, as in AWS. Plaintexts live only in these locals.
 */
import { randomBytes } from 'node:crypto';
import { blobKeyId, type EncryptionContext, open, seal } from './ciphertext.js';
import { KmsError, validationError } from './errors.js';
import type { KeyStore, KmsKey } from './keystore.js';

type Json = Record<string, unknown>;
type Operation = (store: KeyStore, input: Json) => Promise<Json>;

const ALGORITHM = 'SYMMETRIC_DEFAULT';
const MAX_PLAINTEXT = 4096;

function optionalString(input: Json, field: string): string | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new KmsError('SerializationException', `Field ${field} must be a string`);
  return v;
}

function requiredString(input: Json, field: string, max = 2048): string {
  const v = optionalString(input, field);
  if (v === undefined) throw validationError(lowerFirst(field), 'Member must not be null');
  if (v.length < 1 || v.length > max) {
    throw validationError(lowerFirst(field), `Member must have length between 1 and ${max}`, v);
  }
  return v;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}

function blob(input: Json, field: string, max: number): Buffer {
  const v = requiredString(input, field, Math.ceil((max * 4) / 3) + 4);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
    throw new KmsError('SerializationException', `Field ${field} is not valid base64`);
  }
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length < 1 || bytes.length > max) {
    throw validationError(lowerFirst(field), `Member must have length between 1 and ${max}`, '[binary]');
  }
  return bytes;
}

function context(input: Json, field: string): EncryptionContext | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    throw new KmsError('SerializationException', `Field ${field} must be a map of strings`);
  }
  const out: EncryptionContext = {};
  for (const [k, val] of Object.entries(v as Json)) {
    if (typeof val !== 'string')
      throw new KmsError('SerializationException', `Field ${field} must be a map of strings`);
    out[k] = val;
  }
  return out;
}

function byteCount(input: Json, field: string, min: number, max: number): number | undefined {
  const v = input[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new KmsError('SerializationException', `Field ${field} must be an integer`);
  }
  if (v < min || v > max) {
    throw validationError(lowerFirst(field), `Member must have value between ${min} and ${max}`, v);
  }
  return v;
}

function checkAlgorithm(input: Json, field: string): void {
  const v = optionalString(input, field);
  if (v !== undefined && v !== ALGORITHM) {
    throw new KmsError(
      'IncorrectKeyException',
      `The encryption algorithm ${v} is not supported by symmetric keys.`,
    );
  }
}

function checkDryRun(input: Json): void {
  if (input.DryRun === true) {
    throw new KmsError(
      'DryRunOperationException',
      'The request would have succeeded, but the DryRun option is set.',
    );
  }
}

function invalidCiphertext(): KmsError {
  return new KmsError(
    'InvalidCiphertextException',
    'The ciphertext is invalid, or was encrypted under another key or encryption context.',
  );
}

function usable(key: KmsKey): KmsKey {
  if (!key.enabled) throw new KmsError('DisabledException', `${key.arn} is disabled.`);
  return key;
}

function metadata(store: KeyStore, key: KmsKey): Json {
  return {
    AWSAccountId: store.accountId,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: key.creationDate,
    Enabled: key.enabled,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.enabled ? 'Enabled' : 'Disabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: ALGORITHM,
    KeySpec: ALGORITHM,
    EncryptionAlgorithms: [ALGORITHM],
    MultiRegion: false,
  };
}

/**
 * Finds the key a blob was sealed under and opens it. An unparseable blob, a blob naming an unknown key and a
 * failed tag all read as InvalidCiphertextException, as KMS does not reveal which; a KeyId that names another key
 * than the blob's is IncorrectKeyException.
 */
function unseal(
  store: KeyStore,
  ciphertext: Buffer,
  ctx: EncryptionContext | undefined,
  keyRef: string | undefined,
) {
  const requested = keyRef === undefined ? undefined : store.resolve(keyRef);
  const id = blobKeyId(ciphertext);
  const key = id === undefined ? undefined : store.byId(id);
  if (requested && key && requested.keyId !== key.keyId) {
    throw new KmsError(
      'IncorrectKeyException',
      'The key ID in the request does not identify the key used to encrypt the ciphertext.',
    );
  }
  if (!key) throw invalidCiphertext();
  usable(key);
  const plaintext = open(key.material, ciphertext, ctx);
  if (!plaintext) throw invalidCiphertext();
  return { key, plaintext };
}

function dataKeyLength(input: Json): number {
  const spec = optionalString(input, 'KeySpec');
  const bytes = byteCount(input, 'NumberOfBytes', 1, 1024);
  if ((spec === undefined) === (bytes === undefined)) {
    throw validationError(
      'keySpec',
      'Exactly one of KeySpec or NumberOfBytes must be specified',
      spec ?? bytes ?? null,
    );
  }
  if (bytes !== undefined) return bytes;
  if (spec === 'AES_128') return 16;
  if (spec === 'AES_256') return 32;
  throw validationError('keySpec', 'Member must satisfy enum value set: [AES_256, AES_128]', spec);
}

async function generateDataKey(store: KeyStore, input: Json, withPlaintext: boolean): Promise<Json> {
  const key = usable(store.resolve(requiredString(input, 'KeyId')));
  const length = dataKeyLength(input);
  const ctx = context(input, 'EncryptionContext');
  checkDryRun(input);
  const plaintext = randomBytes(length);
  const out: Json = {
    CiphertextBlob: seal(key.keyId, key.material, plaintext, ctx).toString('base64'),
    KeyId: key.arn,
  };
  if (withPlaintext) out.Plaintext = plaintext.toString('base64');
  return out;
}

/** `Limit`/`Marker` paging as KMS lists do; the marker is an offset, opaque to clients. */
function pageOf<T>(all: T[], input: Json): { page: T[]; truncated: boolean; next: string | undefined } {
  const limit = byteCount(input, 'Limit', 1, 1000) ?? 100;
  const marker = optionalString(input, 'Marker');
  const start = marker === undefined ? 0 : Number.parseInt(marker, 10);
  if (!Number.isInteger(start) || start < 0 || start > all.length) {
    throw new KmsError('ValidationException', 'Invalid marker');
  }
  const truncated = start + limit < all.length;
  return {
    page: all.slice(start, start + limit),
    truncated,
    next: truncated ? String(start + limit) : undefined,
  };
}

/** The policy KMS gives a key created without one: the account root may do everything (IAM decides the rest). */
function defaultPolicy(store: KeyStore): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${store.accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  });
}

export const OPERATIONS: Record<string, Operation> = {
  async CreateKey(store, input) {
    const spec =
      optionalString(input, 'KeySpec') ?? optionalString(input, 'CustomerMasterKeySpec') ?? ALGORITHM;
    const usage = optionalString(input, 'KeyUsage') ?? 'ENCRYPT_DECRYPT';
    const origin = optionalString(input, 'Origin') ?? 'AWS_KMS';
    if (spec !== ALGORITHM || usage !== 'ENCRYPT_DECRYPT' || origin !== 'AWS_KMS') {
      throw new KmsError(
        'UnsupportedOperationException',
        'The local KMS supports only symmetric ENCRYPT_DECRYPT keys.',
      );
    }
    const description = optionalString(input, 'Description') ?? '';
    if (description.length > 8192)
      throw validationError('description', 'Member must have length less than or equal to 8192');
    return { KeyMetadata: metadata(store, await store.createKey(description)) };
  },

  async DescribeKey(store, input) {
    return { KeyMetadata: metadata(store, store.resolve(requiredString(input, 'KeyId'))) };
  },

  async EnableKey(store, input) {
    await store.setEnabled(store.resolve(requiredString(input, 'KeyId'), false), true);
    return {};
  },

  async DisableKey(store, input) {
    await store.setEnabled(store.resolve(requiredString(input, 'KeyId'), false), false);
    return {};
  },

  async CreateAlias(store, input) {
    const aliasName = requiredString(input, 'AliasName', 256);
    if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(aliasName)) {
      throw validationError(
        'aliasName',
        'Member must satisfy regular expression pattern: ^alias/[a-zA-Z0-9/_-]+$',
        aliasName,
      );
    }
    if (aliasName.startsWith('alias/aws/')) {
      throw new KmsError('ValidationException', 'Alias names that begin with alias/aws/ are reserved.');
    }
    await store.createAlias(aliasName, store.resolve(requiredString(input, 'TargetKeyId'), false));
    return {};
  },

  async ListKeys(store, input) {
    const { page, truncated, next } = pageOf(store.listKeys(), input);
    return {
      Keys: page.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })),
      Truncated: truncated,
      ...(next ? { NextMarker: next } : {}),
    };
  },

  async GetKeyPolicy(store, input) {
    store.resolve(requiredString(input, 'KeyId'), false);
    const policyName = optionalString(input, 'PolicyName') ?? 'default';
    if (policyName !== 'default')
      throw new KmsError('NotFoundException', `Policy ${policyName} does not exist`);
    return { Policy: defaultPolicy(store), PolicyName: 'default' };
  },

  async GetKeyRotationStatus(store, input) {
    const key = store.resolve(requiredString(input, 'KeyId'), false);
    // Local keys are never rotated: their material must keep opening the blobs stored in S3 and asset records.
    return { KeyRotationEnabled: false, KeyId: key.arn };
  },

  async ListAliases(store, input) {
    const keyRef = optionalString(input, 'KeyId');
    const keyId = keyRef === undefined ? undefined : store.resolve(keyRef, false).keyId;
    const all = store.listAliases().filter((a) => keyId === undefined || a.targetKeyId === keyId);
    const { page, truncated, next } = pageOf(all, input);
    return {
      Aliases: page.map((a) => ({
        AliasName: a.aliasName,
        AliasArn: a.aliasArn,
        TargetKeyId: a.targetKeyId,
        CreationDate: a.creationDate,
        LastUpdatedDate: a.creationDate,
      })),
      Truncated: truncated,
      ...(next ? { NextMarker: next } : {}),
    };
  },

  async GenerateDataKey(store, input) {
    return generateDataKey(store, input, true);
  },

  async GenerateDataKeyWithoutPlaintext(store, input) {
    return generateDataKey(store, input, false);
  },

  async Encrypt(store, input) {
    const key = usable(store.resolve(requiredString(input, 'KeyId')));
    const plaintext = blob(input, 'Plaintext', MAX_PLAINTEXT);
    const ctx = context(input, 'EncryptionContext');
    checkAlgorithm(input, 'EncryptionAlgorithm');
    checkDryRun(input);
    return {
      CiphertextBlob: seal(key.keyId, key.material, plaintext, ctx).toString('base64'),
      KeyId: key.arn,
      EncryptionAlgorithm: ALGORITHM,
    };
  },

  async Decrypt(store, input) {
    const ciphertext = blob(input, 'CiphertextBlob', 6144);
    const ctx = context(input, 'EncryptionContext');
    checkAlgorithm(input, 'EncryptionAlgorithm');
    const { key, plaintext } = unseal(store, ciphertext, ctx, optionalString(input, 'KeyId'));
    checkDryRun(input);
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: ALGORITHM };
  },

  async ReEncrypt(store, input) {
    const ciphertext = blob(input, 'CiphertextBlob', 6144);
    const destination = usable(store.resolve(requiredString(input, 'DestinationKeyId')));
    checkAlgorithm(input, 'SourceEncryptionAlgorithm');
    checkAlgorithm(input, 'DestinationEncryptionAlgorithm');
    const source = unseal(
      store,
      ciphertext,
      context(input, 'SourceEncryptionContext'),
      optionalString(input, 'SourceKeyId'),
    );
    const destinationContext = context(input, 'DestinationEncryptionContext');
    checkDryRun(input);
    return {
      CiphertextBlob: seal(
        destination.keyId,
        destination.material,
        source.plaintext,
        destinationContext,
      ).toString('base64'),
      SourceKeyId: source.key.arn,
      KeyId: destination.arn,
      SourceEncryptionAlgorithm: ALGORITHM,
      DestinationEncryptionAlgorithm: ALGORITHM,
    };
  },

  async GenerateRandom(_store, input) {
    const bytes = byteCount(input, 'NumberOfBytes', 1, 1024);
    if (bytes === undefined) throw validationError('numberOfBytes', 'Member must not be null');
    return { Plaintext: randomBytes(bytes).toString('base64') };
  },
};
