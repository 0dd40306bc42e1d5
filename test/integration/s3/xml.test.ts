/**
 * The gateway's XML request bodies, parsed by fast-xml-parser, over real HTTP: keys and ETags written with numeric
 * character references (`&#65;`, `&#x41;`), as XML allows and as the AWS SDK writes line breaks in keys.
 */
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { S3Gateway } from '../../../local/s3/index.js';
import { clientFor, startTestGateway } from '../../support/gateway.js';

/** A client whose serialized XML body is rewritten before it is checksummed and signed, as a hand-written body. */
function rewritingClient(gateway: S3Gateway, rewrite: (xml: string) => string): S3Client {
  const client = clientFor(gateway, 1);
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { body?: unknown };
      if (typeof request.body === 'string') request.body = rewrite(request.body);
      return next(args);
    },
    { step: 'serialize', priority: 'low', name: 'rewriteXmlBody' },
  );
  return client;
}

async function keysIn(s3: S3Client, prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: 'media', Prefix: prefix }));
  return (page.Contents ?? []).map((o) => o.Key ?? '');
}

describe('XML request bodies of the local S3 gateway', () => {
  let gateway: S3Gateway;
  let s3: S3Client;

  beforeAll(async () => {
    ({ gateway, s3 } = await startTestGateway(['media']));
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('deletes the objects a DeleteObjects body names with decimal and hexadecimal character references', async () => {
    // Prepare
    for (const key of ['refs/AB & C', 'refs/keep']) {
      await s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: 'x' }));
    }
    const client = rewritingClient(gateway, (xml) =>
      xml.replace('<Key>refs/AB &amp; C</Key>', '<Key>refs/&#x41;&#66; &#38; C</Key>'),
    );
    // Act
    const out = await client.send(
      new DeleteObjectsCommand({ Bucket: 'media', Delete: { Objects: [{ Key: 'refs/AB & C' }] } }),
    );
    // Assess
    expect(out.Deleted?.map((d) => d.Key)).toEqual(['refs/AB & C']);
    expect(out.Errors ?? []).toEqual([]);
    expect(await keysIn(s3, 'refs/')).toEqual(['refs/keep']);
  });

  it('deletes keys with line breaks, which the AWS SDK writes as character references', async () => {
    // Prepare
    const keys = ['breaks/cr\r', 'breaks/lf\nx', 'breaks/ls\u2028y'];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'media', Key: key, Body: 'x' }));
    // Act
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket: 'media', Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    // Assess
    expect(out.Deleted?.map((d) => d.Key).sort()).toEqual([...keys].sort());
    expect(await keysIn(s3, 'breaks/')).toEqual([]);
  });

  it('completes a multipart upload whose part ETags are quoted with character references', async () => {
    // Prepare
    const Key = 'multipart/&#65; literally';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'media', Key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'media', Key, UploadId, PartNumber: 1, Body: Buffer.alloc(16, 1) }),
    );
    const client = rewritingClient(gateway, (xml) => xml.replaceAll('&quot;', '&#x22;'));
    // Act
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'media',
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    // Assess
    expect(done.Key).toBe(Key);
    expect(await keysIn(s3, 'multipart/')).toEqual([Key]);
  });

  it('answers MalformedXML to a body with a reference XML does not define', async () => {
    // Prepare
    const client = rewritingClient(gateway, (xml) => xml.replace('<Key>nbsp</Key>', '<Key>&nbsp;</Key>'));
    // Act
    const send = client.send(
      new DeleteObjectsCommand({ Bucket: 'media', Delete: { Objects: [{ Key: 'nbsp' }] } }),
    );
    // Assess
    await expect(send).rejects.toMatchObject({ name: 'MalformedXML', $metadata: { httpStatusCode: 400 } });
  });
});
