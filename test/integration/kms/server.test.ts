import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateAliasCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisabledException,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  GenerateRandomCommand,
  InvalidCiphertextException,
  KMSClient,
  ListAliasesCommand,
  NotFoundException,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ELASTIC_TRANSCODER_CONTEXT } from '../../../lib/kms/contexts.js';
import { FaultInjector } from '../../../local/faults.js';
import { type KmsServer, startKmsServer } from '../../../local/kms/index.js';
import { awsCliEnv, dataDirCredentials } from '../../support/credentials.js';

const run = promisify(execFile);
// Every server below accepts only these, read from a data directory as the stack reads its own.
const { dataDir: credentialsDir, credentials, auth } = dataDirCredentials();
afterAll(() => rm(credentialsDir, { recursive: true, force: true }));
const region = 'us-east-1';
const context = { ...ELASTIC_TRANSCODER_CONTEXT };

// ThrottlingException and ValidationException are not modelled KMS errors, so the SDK has no class for them: it
// surfaces them as generic service errors carrying the wire name.

/** Resolves with the rejection reason, or with the string 'succeeded', so a test can assert on several failures. */
function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => 'succeeded',
    (e: unknown) => e,
  );
}

function kmsClient(endpoint: string): KMSClient {
  return new KMSClient({ endpoint, region, credentials, maxAttempts: 1 });
}

describe('local KMS server', () => {
  let dataDir: string;
  let server: KmsServer;
  let kms: KMSClient;
  let keyId: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'st-kms-'));
    server = await startKmsServer({ dataDir, auth });
    kms = kmsClient(server.endpoint);
    ({ keyId } = await server.createKey('test key'));
  });

  afterAll(async () => {
    kms.destroy();
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('through the AWS SDK', () => {
    it('decrypts a data key without KeyId only under the same encryption context', async () => {
      // Prepare
      const generated = await kms.send(
        new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_128', EncryptionContext: context }),
      );

      // Act
      const decrypted = await kms.send(
        new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
      );

      // Assess
      expect(generated.Plaintext).toHaveLength(16);
      expect(Buffer.from(decrypted.Plaintext ?? [])).toEqual(Buffer.from(generated.Plaintext ?? []));
      expect(decrypted.KeyId).toBe(`arn:aws:kms:${region}:000000000000:key/${keyId}`);
      await expect(
        kms.send(
          new DecryptCommand({
            CiphertextBlob: generated.CiphertextBlob,
            EncryptionContext: { service: 'mediaconvert.amazonaws.com' },
          }),
        ),
      ).rejects.toThrow(InvalidCiphertextException);
      await expect(
        kms.send(new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob })),
      ).rejects.toThrow(InvalidCiphertextException);
    });

    it('rejects a tampered ciphertext blob with InvalidCiphertextException', async () => {
      // Prepare
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from('keykeykeykeykeyk'),
          EncryptionContext: context,
        }),
      );
      const tampered = Buffer.from(CiphertextBlob ?? []);
      tampered[tampered.length - 1] = (tampered.at(-1) ?? 0) ^ 0x01;

      // Act
      const result = kms.send(new DecryptCommand({ CiphertextBlob: tampered, EncryptionContext: context }));

      // Assess
      await expect(result).rejects.toThrow(InvalidCiphertextException);
    });

    it('answers NotFoundException for an unknown key id, key ARN or alias', async () => {
      // Prepare
      const unknown = '11111111-2222-3333-4444-555555555555';

      // Act
      const byId = await failure(kms.send(new DescribeKeyCommand({ KeyId: unknown })));
      const byArn = await failure(
        kms.send(
          new EncryptCommand({
            KeyId: `arn:aws:kms:${region}:000000000000:key/${unknown}`,
            Plaintext: Buffer.from('x'),
          }),
        ),
      );
      const byAlias = await failure(
        kms.send(new GenerateDataKeyCommand({ KeyId: 'alias/missing', KeySpec: 'AES_256' })),
      );

      // Assess
      expect(byId).toBeInstanceOf(NotFoundException);
      expect(byArn).toBeInstanceOf(NotFoundException);
      expect(byAlias).toBeInstanceOf(NotFoundException);
    });

    it('resolves alias names and alias ARNs to their target key', async () => {
      // Prepare
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/transcode', TargetKeyId: keyId }));
      const aliasArn = `arn:aws:kms:${region}:000000000000:alias/transcode`;

      // Act
      const viaName = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/transcode' }));
      const viaArn = await kms.send(new EncryptCommand({ KeyId: aliasArn, Plaintext: Buffer.from('hello') }));
      const aliases = await kms.send(new ListAliasesCommand({ KeyId: keyId }));

      // Assess
      expect(viaName.KeyMetadata).toMatchObject({
        KeyId: keyId,
        Enabled: true,
        KeyState: 'Enabled',
        KeyUsage: 'ENCRYPT_DECRYPT',
      });
      expect(viaArn.KeyId).toBe(viaName.KeyMetadata?.Arn);
      expect(aliases.Aliases).toEqual([
        expect.objectContaining({ AliasName: 'alias/transcode', AliasArn: aliasArn, TargetKeyId: keyId }),
      ]);
    });

    it('refuses a disabled key with DisabledException and serves it again once enabled', async () => {
      // Prepare
      const { keyId: own } = await server.createKey('to disable');
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({ KeyId: own, Plaintext: Buffer.from('secret') }),
      );
      await kms.send(new DisableKeyCommand({ KeyId: own }));

      // Act
      const whileDisabled = await failure(kms.send(new DecryptCommand({ CiphertextBlob })));
      const described = await kms.send(new DescribeKeyCommand({ KeyId: own }));
      await kms.send(new EnableKeyCommand({ KeyId: own }));
      const afterEnable = await kms.send(new DecryptCommand({ CiphertextBlob }));

      // Assess
      expect(whileDisabled).toBeInstanceOf(DisabledException);
      expect(described.KeyMetadata?.KeyState).toBe('Disabled');
      expect(Buffer.from(afterEnable.Plaintext ?? []).toString()).toBe('secret');
    });

    it('generates a data key without plaintext of NumberOfBytes and validates the size fields', async () => {
      // Prepare
      const request = { KeyId: keyId, NumberOfBytes: 24, EncryptionContext: context };

      // Act
      const generated = await kms.send(new GenerateDataKeyWithoutPlaintextCommand(request));
      const decrypted = await kms.send(
        new DecryptCommand({ CiphertextBlob: generated.CiphertextBlob, EncryptionContext: context }),
      );

      // Assess
      expect(generated).not.toHaveProperty('Plaintext');
      expect(decrypted.Plaintext).toHaveLength(24);
      await expect(
        kms.send(
          new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_128', NumberOfBytes: 16 }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationException' });
      await expect(kms.send(new GenerateRandomCommand({ NumberOfBytes: 0 }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
      expect((await kms.send(new GenerateRandomCommand({ NumberOfBytes: 32 }))).Plaintext).toHaveLength(32);
    });

    it('re-encrypts a blob under another key and encryption context', async () => {
      // Prepare
      const { keyId: destination } = await server.createKey('destination');
      const plaintext = randomBytes(16);
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: plaintext, EncryptionContext: { a: '1' } }),
      );

      // Act
      const reEncrypted = await kms.send(
        new ReEncryptCommand({
          CiphertextBlob,
          SourceEncryptionContext: { a: '1' },
          DestinationKeyId: destination,
          DestinationEncryptionContext: context,
        }),
      );
      const decrypted = await kms.send(
        new DecryptCommand({ CiphertextBlob: reEncrypted.CiphertextBlob, EncryptionContext: context }),
      );

      // Assess
      expect(reEncrypted.SourceKeyId).toContain(keyId);
      expect(decrypted.KeyId).toContain(destination);
      expect(Buffer.from(decrypted.Plaintext ?? [])).toEqual(plaintext);
    });

    it('answers ThrottlingException when the fault injector throttles a call', async () => {
      // Prepare
      const faultDir = await mkdtemp(join(tmpdir(), 'st-kms-faults-'));
      const faults = new FaultInjector([
        { service: 'kms', operation: 'GenerateRandom', kind: 'throttle', schedule: [1] },
      ]);
      const faulty = await startKmsServer({ dataDir: faultDir, auth, faults });
      const client = kmsClient(faulty.endpoint);

      // Act
      const first = client.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
      await expect(first).rejects.toMatchObject({
        name: 'ThrottlingException',
        $metadata: { httpStatusCode: 400 },
      });
      const second = await client.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));

      // Assess
      expect(second.Plaintext).toHaveLength(8);
      expect(faults.stats()).toEqual([
        { service: 'kms', operation: 'GenerateRandom', calls: 2, injected: 1 },
      ]);
      client.destroy();
      await faulty.stop();
      await rm(faultDir, { recursive: true, force: true });
    });

    it('keeps keys across a restart in owner-only files', async () => {
      // Prepare
      const restartDir = await mkdtemp(join(tmpdir(), 'st-kms-restart-'));
      const first = await startKmsServer({ dataDir: restartDir, auth });
      const { keyId: persisted } = await first.createKey('persisted');
      const firstClient = kmsClient(first.endpoint);
      const { CiphertextBlob } = await firstClient.send(
        new EncryptCommand({
          KeyId: persisted,
          Plaintext: Buffer.from('survives'),
          EncryptionContext: context,
        }),
      );
      firstClient.destroy();
      await first.stop();

      // Act
      const second = await startKmsServer({ dataDir: restartDir, auth });
      const secondClient = kmsClient(second.endpoint);
      const decrypted = await secondClient.send(
        new DecryptCommand({ CiphertextBlob, EncryptionContext: context }),
      );
      secondClient.destroy();
      await second.stop();

      // Assess
      expect(Buffer.from(decrypted.Plaintext ?? []).toString()).toBe('survives');
      const kmsDir = join(restartDir, 'kms');
      expect((await stat(kmsDir)).mode & 0o777).toBe(0o700);
      const files = await readdir(join(kmsDir, 'keys'));
      expect(files).toEqual([`${persisted}.json`]);
      const modes = await Promise.all(
        files.map(async (f) => (await stat(join(kmsDir, 'keys', f))).mode & 0o777),
      );
      expect(modes).toEqual([0o600]);
      await rm(restartDir, { recursive: true, force: true });
    });
  });

  describe('through the AWS CLI', () => {
    let cliHome: string;
    let aws: (...args: string[]) => Promise<string>;

    beforeAll(async () => {
      cliHome = await mkdtemp(join(tmpdir(), 'st-kms-cli-'));
      const env = awsCliEnv(cliHome, credentials, region);
      aws = async (...args) =>
        (
          await run('/usr/bin/aws', [...args, '--endpoint-url', server.endpoint, '--output', 'text'], { env })
        ).stdout.trim();
    });

    afterAll(async () => {
      await rm(cliHome, { recursive: true, force: true });
    });

    it('encrypts with the Elastic Transcoder context and decrypts with the same context', async () => {
      // Prepare
      const plainFile = join(cliHome, 'key.bin');
      await writeFile(plainFile, 'keykeykeykeykeyk');
      const blob = await aws(
        'kms',
        'encrypt',
        '--key-id',
        keyId,
        '--plaintext',
        `fileb://${plainFile}`,
        '--encryption-context',
        'service=elastictranscoder.amazonaws.com',
        '--query',
        'CiphertextBlob',
      );
      const blobFile = join(cliHome, 'key.enc');
      await writeFile(blobFile, Buffer.from(blob, 'base64'));

      // Act
      const plaintext = await aws(
        'kms',
        'decrypt',
        '--ciphertext-blob',
        `fileb://${blobFile}`,
        '--encryption-context',
        'service=elastictranscoder.amazonaws.com',
        '--query',
        'Plaintext',
      );

      // Assess
      expect(Buffer.from(plaintext, 'base64').toString()).toBe('keykeykeykeykeyk');
      expect(await readFile(blobFile)).not.toEqual(await readFile(plainFile));
    });

    it('fails with InvalidCiphertextException for a wrong or missing context and for a tampered blob', async () => {
      // Prepare
      const { CiphertextBlob } = await kms.send(
        new EncryptCommand({
          KeyId: keyId,
          Plaintext: Buffer.from('keykeykeykeykeyk'),
          EncryptionContext: context,
        }),
      );
      const blobFile = join(cliHome, 'wrapped.enc');
      await writeFile(blobFile, CiphertextBlob ?? new Uint8Array());
      const tamperedFile = join(cliHome, 'tampered.enc');
      const tampered = Buffer.from(CiphertextBlob ?? []);
      tampered[50] = (tampered[50] ?? 0) ^ 0xff;
      await writeFile(tamperedFile, tampered);

      // Act
      const wrongContext = await failure(
        aws(
          'kms',
          'decrypt',
          '--ciphertext-blob',
          `fileb://${blobFile}`,
          '--encryption-context',
          'service=mediaconvert.amazonaws.com',
        ),
      );
      const missingContext = await failure(aws('kms', 'decrypt', '--ciphertext-blob', `fileb://${blobFile}`));
      const tamperedBlob = await failure(
        aws(
          'kms',
          'decrypt',
          '--ciphertext-blob',
          `fileb://${tamperedFile}`,
          '--encryption-context',
          'service=elastictranscoder.amazonaws.com',
        ),
      );

      // Assess
      const invalid = { stderr: expect.stringContaining('InvalidCiphertextException') };
      expect(wrongContext).toMatchObject(invalid);
      expect(missingContext).toMatchObject(invalid);
      expect(tamperedBlob).toMatchObject(invalid);
    });

    it('fails with NotFoundException for an unknown key', async () => {
      // Act
      const result = aws('kms', 'describe-key', '--key-id', '11111111-2222-3333-4444-555555555555');

      // Assess
      await expect(result).rejects.toMatchObject({ stderr: expect.stringContaining('NotFoundException') });
    });
  });
});
