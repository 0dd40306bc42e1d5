import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mockClient } from 'aws-sdk-client-mock';
import { runEncryptCommand } from '../../../local/cli/encrypt.js';
import type { S3Gateway } from '../../../local/s3/index.js';
import { captureIo } from '../../support/cli-io.js';
import { startTestGateway } from '../../support/gateway.js';
import { opensslEncrypt } from '../../support/openssl.js';
import { exited } from '../../support/stack-process.js';

const TUTORIAL_KEY = '6b65796b65796b65796b65796b65796b';
const TUTORIAL_IV = '31323334353637383930313233343536';
const CLI = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'secure-transcode.js');

/** The command lines of every process on the machine, as any local user can read them (what `ps` shows). */
function allCommandLines(): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return '';
      }
    });
}

describe('secure-transcode encrypt', () => {
  let dir: string;
  let gateway: S3Gateway;
  let s3: S3Client;
  const kmsMock = mockClient(KMSClient);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'st-cli-'));
    let credentials: { accessKeyId: string; secretAccessKey: string };
    ({ gateway, s3, credentials } = await startTestGateway(['media']));
    // The CLI builds its own clients from the default credential chain, as it would on a workstation.
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  });
  afterAll(async () => {
    await gateway.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('reproduces the tutorial openssl command on local files', async () => {
    // Prepare
    const data = randomBytes(6 * 1024 * 1024 + 3);
    await writeFile(join(dir, 'in.mp4'), data);
    await writeFile(join(dir, 'tutorial.key'), `${TUTORIAL_KEY}\n`, { mode: 0o600 });
    const cap = captureIo();
    // Act
    const code = await runEncryptCommand(
      [
        'encrypt',
        join(dir, 'in.mp4'),
        join(dir, 'out.enc'),
        '--key-file',
        join(dir, 'tutorial.key'),
        '--iv-hex',
        TUTORIAL_IV,
        '--part-size-mib',
        '5',
      ],
      cap.io,
    );
    // Assess
    expect(code).toBe(0);
    const expected = opensslEncrypt(
      'aes-cbc-pkcs7',
      Buffer.from(TUTORIAL_KEY, 'hex'),
      Buffer.from(TUTORIAL_IV, 'hex'),
      data,
    );
    expect((await readFile(join(dir, 'out.enc'))).equals(expected)).toBe(true);
  });

  it('encrypts a local file to S3 and S3 to S3 with a KMS data key and prints only the envelope', async () => {
    // Prepare
    const data = randomBytes(5 * 1024 * 1024 + 100);
    await writeFile(join(dir, 'kms.mp4'), data);
    const plaintextKey = randomBytes(16);
    kmsMock.reset();
    kmsMock
      .on(GenerateDataKeyCommand)
      .resolves({ Plaintext: plaintextKey, CiphertextBlob: Buffer.from('wrapped-blob'), KeyId: 'arn:key/1' });
    const upload = captureIo();
    const copy = captureIo();
    // Act
    const first = await runEncryptCommand(
      [
        join(dir, 'kms.mp4'),
        's3://media/encrypted/kms.enc',
        '--mode',
        'aes-ctr',
        '--kms-key-id',
        'alias/x',
        '--endpoint-url',
        gateway.endpoint,
      ],
      upload.io,
    );
    expect(upload.err()).toBe('');
    const envelope = JSON.parse(upload.out()) as {
      initializationVectorHex: string;
      keyMd5: string;
      wrappedKey: string;
    };
    const second = await runEncryptCommand(
      [
        's3://media/encrypted/kms.enc',
        's3://media/encrypted/twice.enc',
        '--mode',
        'aes-ctr',
        '--key-file',
        '-',
        '--iv-hex',
        envelope.initializationVectorHex,
        '--endpoint-url',
        gateway.endpoint,
      ],
      { ...copy.io, stdin: Readable.from([Buffer.from(`${plaintextKey.toString('hex')}\n`)]) },
    );
    // Assess
    expect([first, second]).toEqual([0, 0]);
    expect(kmsMock).toHaveReceivedCommandWith(GenerateDataKeyCommand, {
      KeyId: 'alias/x',
      NumberOfBytes: 16,
      EncryptionContext: { service: 'elastictranscoder.amazonaws.com' },
    });
    expect(envelope).toMatchObject({
      wrappedKey: Buffer.from('wrapped-blob').toString('base64'),
      keyMd5: 'NEqsHfqfO/UGGLdGrCKtSQ==',
    });
    for (const form of [plaintextKey.toString('hex'), plaintextKey.toString('base64')])
      expect(upload.out()).not.toContain(form);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'media', Key: 'encrypted/kms.enc' }));
    expect(head.Metadata).toMatchObject({
      'st-mode': 'aes-ctr',
      'st-key-md5': envelope.keyMd5,
      'st-kms-key-id': 'arn:key/1',
    });
    const iv = Buffer.from(envelope.initializationVectorHex, 'hex');
    const bytes = async (key: string) =>
      Buffer.from(
        (await (
          await s3.send(new GetObjectCommand({ Bucket: 'media', Key: key }))
        ).Body?.transformToByteArray()) ?? [],
      );
    expect((await bytes('encrypted/kms.enc')).equals(opensslEncrypt('aes-ctr', plaintextKey, iv, data))).toBe(
      true,
    );
    // CTR applied twice with the same key and IV is the identity: the S3 → S3 pass was byte-exact too.
    expect((await bytes('encrypted/twice.enc')).equals(data)).toBe(true);
  });

  it('exits with 2 and the usage text when the key is missing', async () => {
    // Prepare
    const cap = captureIo();
    // Act
    const code = await runEncryptCommand(['a.mp4', 'b.enc'], cap.io);
    // Assess
    expect(code).toBe(2);
    expect(cap.err()).toContain('Run `secure-transcode encrypt --help` for usage.');
  });

  it('refuses --key-hex unless --unsafe-key-on-command-line accepts the exposure', async () => {
    // Prepare
    await writeFile(join(dir, 'hex.mp4'), randomBytes(1000));
    const refused = captureIo();
    const accepted = captureIo();
    const args = [
      join(dir, 'hex.mp4'),
      join(dir, 'hex.enc'),
      '--key-hex',
      TUTORIAL_KEY,
      '--iv-hex',
      TUTORIAL_IV,
    ];
    // Act
    const refusedCode = await runEncryptCommand(args, refused.io);
    const acceptedCode = await runEncryptCommand([...args, '--unsafe-key-on-command-line'], accepted.io);
    // Assess
    expect(refusedCode).toBe(2);
    expect(refused.err()).toContain(
      '--key-hex puts the key on the command line, where every local user can read it',
    );
    expect(refused.err()).toContain('Use --key-file PATH');
    expect(acceptedCode).toBe(0);
    expect(await readFile(join(dir, 'hex.enc'))).toEqual(
      opensslEncrypt(
        'aes-cbc-pkcs7',
        Buffer.from(TUTORIAL_KEY, 'hex'),
        Buffer.from(TUTORIAL_IV, 'hex'),
        await readFile(join(dir, 'hex.mp4')),
      ),
    );
  });

  it.each([
    ['too short', '6b65796b'],
    ['not hex', 'zz65796b65796b65796b65796b65796b'],
    ['two keys', `${TUTORIAL_KEY} ${TUTORIAL_KEY}`],
  ])('refuses a key file whose key is %s, without echoing it', async (_what, content) => {
    // Prepare
    await writeFile(join(dir, 'bad.key'), content, { mode: 0o600 });
    const cap = captureIo();
    // Act
    const code = await runEncryptCommand(
      [
        join(dir, 'in.mp4'),
        join(dir, 'bad.enc'),
        '--key-file',
        join(dir, 'bad.key'),
        '--iv-hex',
        TUTORIAL_IV,
      ],
      cap.io,
    );
    // Assess
    expect(code).toBe(2);
    expect(cap.err()).toContain(`--key-file ${join(dir, 'bad.key')} must hold a 16, 24, 32-byte key`);
    expect(cap.err()).not.toContain(content);
  });

  it('takes the key from standard input, so no process command line on the machine ever shows it', async () => {
    // Prepare
    const data = randomBytes(100_000);
    await writeFile(join(dir, 'stdin.mp4'), data);
    const key = randomBytes(16);
    const child = spawn(
      process.execPath,
      [
        CLI,
        'encrypt',
        join(dir, 'stdin.mp4'),
        join(dir, 'stdin.enc'),
        '--key-file',
        '-',
        '--iv-hex',
        TUTORIAL_IV,
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    // Act: look at every command line while the command runs, as another user would with ps.
    const seen: string[] = [];
    for (let i = 0; i < 10; i++) {
      seen.push(...allCommandLines());
      await new Promise((r) => setTimeout(r, 100));
    }
    child.stdin.end(`${key.toString('hex')}\n`);
    await exited(child);
    // Assess
    expect(seen.some((line) => line.includes('--key-file -'))).toBe(true);
    for (const form of [key.toString('hex'), key.toString('hex').toUpperCase(), key.toString('base64')])
      expect(seen.filter((line) => line.includes(form))).toEqual([]);
    expect([child.exitCode, stderr]).toEqual([0, '']);
    expect(await readFile(join(dir, 'stdin.enc'))).toEqual(
      opensslEncrypt('aes-cbc-pkcs7', key, Buffer.from(TUTORIAL_IV, 'hex'), data),
    );
  });
});
