import { S3Client } from '@aws-sdk/client-s3';
import type { FaultInjector } from '../../local/faults.js';
import { type S3Gateway, startS3Gateway } from '../../local/s3/index.js';

export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

export async function startTestGateway(
  buckets: string[],
  faults?: FaultInjector,
): Promise<{ gateway: S3Gateway; s3: S3Client }> {
  const gateway = await startS3Gateway({ buckets, ...(faults ? { faults } : {}) });
  const s3 = new S3Client({
    endpoint: gateway.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
  });
  return { gateway, s3 };
}

export function clientFor(gateway: S3Gateway, maxAttempts: number): S3Client {
  return new S3Client({
    endpoint: gateway.endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    maxAttempts,
  });
}
