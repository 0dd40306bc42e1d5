/**
 * Each protocol's error envelope, as written by local/http/errors.ts, parsed back by the official clients: the JS SDK
 * v3's deserializers and Debian's `/usr/bin/aws` (botocore). A loopback server answers every request with the
 * envelope under test.
 */
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { ElasticTranscoderClient, ReadJobCommand } from '@aws-sdk/client-elastic-transcoder';
import { DescribeKeyCommand, KMSClient, NotFoundException as KmsNotFound } from '@aws-sdk/client-kms';
import { GetJobCommand, MediaConvertClient } from '@aws-sdk/client-mediaconvert';
import { GetObjectCommand, HeadObjectCommand, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient, NotFoundException as SnsNotFound } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  sendApiGatewayError,
  sendAwsJsonError,
  sendQueryError,
  sendRestJsonError,
  sendRestXmlError,
} from '../../../../local/http/errors.js';
import { type LocalServer, readBody, serveOnLoopback } from '../../../../local/http/server.js';

const run = promisify(execFile);
const credentials = { accessKeyId: 'AKIDLOCALTEST', secretAccessKey: 'test-secret' };
const region = 'us-east-1';
/** Characters every envelope must carry through its escaping. */
const MESSAGE = `No such thing: <a & 'b' "c">`;
const SQS_NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';

/** The envelope under test for each kind of request the clients below send. */
function answer(req: IncomingMessage, res: ServerResponse, body: string) {
  const target = String(req.headers['x-amz-target'] ?? '');
  const path = new URL(req.url ?? '/', 'http://local').pathname;
  const method = req.method ?? 'GET';
  if (target.startsWith('AWSStepFunctions.'))
    return sendAwsJsonError(res, 400, 'ExecutionDoesNotExist', MESSAGE, {
      jsonVersion: '1.0',
      requestId: 'req-1',
    });
  if (target.startsWith('TrentService.')) return sendAwsJsonError(res, 400, 'NotFoundException', MESSAGE);
  if (path.startsWith('/2012-09-25/') || path.startsWith('/2017-08-29/'))
    return sendRestJsonError(res, 404, 'NotFoundException', MESSAGE);
  if (path === '/b/k')
    return sendRestXmlError(res, 404, 'NoSuchKey', MESSAGE, {
      method,
      resource: path,
      requestId: 'ABCDEF0123456789',
    });
  if (body.includes('Action=Publish')) return sendQueryError(res, 404, 'NotFound', MESSAGE);
  if (body.includes('Action=GetQueueUrl'))
    return sendQueryError(res, 400, 'AWS.SimpleQueueService.NonExistentQueue', MESSAGE, {
      queryNamespace: SQS_NAMESPACE,
    });
  sendApiGatewayError(res, 403, 'Forbidden', { fields: { reason: 'signature_missing' } });
}

let server: LocalServer;

beforeAll(async () => {
  server = await serveOnLoopback(
    async (req, res) =>
      answer(req, res, (await readBody(req, 1024 * 1024, () => new Error('too large'))).toString()),
    (_e, _req, res) => {
      res.writeHead(500);
      res.end();
    },
  );
});

afterAll(() => server.stop());

const clientConfig = () => ({ endpoint: server.endpoint, region, credentials, maxAttempts: 1 });

/** `/usr/bin/aws <args>` against the test server; resolves with its stderr. */
async function awsCli(args: string[]): Promise<string> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_DEFAULT_REGION: region,
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
  return run('/usr/bin/aws', ['--endpoint-url', server.endpoint, ...args], { env }).then(
    () => '',
    (e: { stderr: string }) => e.stderr.trim(),
  );
}

describe('the error envelopes, parsed by the JS SDK', () => {
  it('AWS JSON 1.0 becomes the modeled error, with its request id', async () => {
    // Act
    const call = new SFNClient(clientConfig()).send(
      new DescribeExecutionCommand({ executionArn: 'arn:aws:states:::execution:m:e' }),
    );

    // Assess
    await expect(call).rejects.toThrow(ExecutionDoesNotExist);
    await expect(call).rejects.toMatchObject({ message: MESSAGE, $metadata: { requestId: 'req-1' } });
  });

  it('AWS JSON 1.1 becomes the modeled error', async () => {
    // Act
    const call = new KMSClient(clientConfig()).send(new DescribeKeyCommand({ KeyId: 'alias/missing' }));

    // Assess
    await expect(call).rejects.toThrow(KmsNotFound);
    await expect(call).rejects.toMatchObject({ message: MESSAGE, $metadata: { httpStatusCode: 400 } });
  });

  it('REST-JSON is named by its x-amzn-ErrorType in the Elastic Transcoder and MediaConvert clients', async () => {
    // Act
    const errors = await Promise.all([
      new ElasticTranscoderClient(clientConfig())
        .send(new ReadJobCommand({ Id: '1' }))
        .catch((e: unknown) => e),
      new MediaConvertClient(clientConfig()).send(new GetJobCommand({ Id: '1' })).catch((e: unknown) => e),
    ]);

    // Assess
    expect(errors).toEqual([
      expect.objectContaining({ name: 'NotFoundException', message: MESSAGE }),
      expect.objectContaining({ name: 'NotFoundException', message: MESSAGE }),
    ]);
  });

  it("REST-XML becomes S3's modeled error, with S3's request id", async () => {
    // Act
    const call = new S3Client({ ...clientConfig(), forcePathStyle: true }).send(
      new GetObjectCommand({ Bucket: 'b', Key: 'k' }),
    );

    // Assess
    await expect(call).rejects.toThrow(NoSuchKey);
    await expect(call).rejects.toMatchObject({
      message: MESSAGE,
      $metadata: { requestId: 'ABCDEF0123456789' },
    });
  });

  it('REST-XML answers HEAD with the status alone, which the SDK names by it', async () => {
    // Act
    const call = new S3Client({ ...clientConfig(), forcePathStyle: true }).send(
      new HeadObjectCommand({ Bucket: 'b', Key: 'k' }),
    );

    // Assess
    await expect(call).rejects.toMatchObject({ name: 'NotFound', $metadata: { httpStatusCode: 404 } });
  });

  it("query becomes SNS's modeled error", async () => {
    // Act
    const call = new SNSClient(clientConfig()).send(
      new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:t', Message: 'm' }),
    );

    // Assess
    await expect(call).rejects.toThrow(SnsNotFound);
    await expect(call).rejects.toMatchObject({ message: MESSAGE });
  });

  it("API Gateway's own answer carries the message and further fields as JSON, never cached", async () => {
    // Act
    const res = await fetch(`${server.endpoint}/copyProtection`, { method: 'POST', body: '{}' });

    // Assess
    expect({ status: res.status, cache: res.headers.get('cache-control'), body: await res.json() }).toEqual({
      status: 403,
      cache: 'no-store',
      body: { message: 'Forbidden', reason: 'signature_missing' },
    });
  });
});

describe('the error envelopes, reported by /usr/bin/aws', () => {
  it('names the code and message of every protocol (SQS through its query protocol)', async () => {
    // Act
    const reports = await Promise.all([
      awsCli(['stepfunctions', 'describe-execution', '--execution-arn', 'arn:aws:states:::e']),
      awsCli(['kms', 'describe-key', '--key-id', 'alias/missing']),
      awsCli(['elastictranscoder', 'read-job', '--id', '1']),
      awsCli(['s3api', 'get-object', '--bucket', 'b', '--key', 'k', '/dev/null']),
      awsCli(['sqs', 'get-queue-url', '--queue-name', 'missing']),
    ]);

    // Assess
    expect(reports).toEqual(
      [
        'ExecutionDoesNotExist) when calling the DescribeExecution',
        'NotFoundException) when calling the DescribeKey',
        'NotFoundException) when calling the ReadJob',
        'NoSuchKey) when calling the GetObject',
        'AWS.SimpleQueueService.NonExistentQueue) when calling the GetQueueUrl',
      ].map((call) => `An error occurred (${call} operation: ${MESSAGE}`),
    );
  });
});
