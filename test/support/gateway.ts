import { rmSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import type { FaultInjector } from '../../local/faults.js';
import { type S3Gateway, startS3Gateway } from '../../local/s3/index.js';
import type { StackCredentials } from '../../local/stack/credentials.js';
import { dataDirCredentials } from './credentials.js';

const credentialsOf = new WeakMap<S3Gateway, StackCredentials>();

/** A gateway checking signatures against a fresh data directory's credentials, and a client signing with them. */
export async function startTestGateway(
  buckets: string[],
  faults?: FaultInjector,
): Promise<{ gateway: S3Gateway; s3: S3Client; credentials: StackCredentials }> {
  const { dataDir, credentials, auth } = dataDirCredentials();
  const started = await startS3Gateway({ auth, buckets, ...(faults ? { faults } : {}) });
  const gateway: S3Gateway = {
    ...started,
    stop: async () => {
      await started.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  credentialsOf.set(gateway, credentials);
  return { gateway, s3: clientFor(gateway, 3), credentials };
}

/** The credentials a gateway from startTestGateway accepts. */
export function gatewayCredentials(gateway: S3Gateway): StackCredentials {
  const credentials = credentialsOf.get(gateway);
  if (!credentials) throw new Error('not a gateway started by startTestGateway');
  return { ...credentials };
}

export function clientFor(gateway: S3Gateway, maxAttempts: number): S3Client {
  return new S3Client({
    endpoint: gateway.endpoint,
    region: 'us-east-1',
    credentials: gatewayCredentials(gateway),
    forcePathStyle: true,
    maxAttempts,
  });
}
