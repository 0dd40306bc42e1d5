/** The SDK clients the stack itself uses (provisioning, the queues it polls, exports), on the local endpoints. */
import { ElasticTranscoderClient } from '@aws-sdk/client-elastic-transcoder';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { StackCredentials } from './credentials.js';
import type { ServiceServers } from './servers.js';

export interface StackClients {
  s3: S3Client;
  sqs: SQSClient;
  sns: SNSClient;
  kms: KMSClient;
  et: ElasticTranscoderClient;
  destroy(): void;
}

export function createStackClients(
  region: string,
  credentials: StackCredentials,
  services: ServiceServers,
): StackClients {
  // The SDK annotates the credentials object it is given; each client gets its own copy.
  const clientConfig = () => ({ region, credentials: { ...credentials }, maxAttempts: 3 });
  const gateway = services.gateway.endpoint;
  const s3 = new S3Client({ ...clientConfig(), endpoint: gateway, forcePathStyle: true });
  const sqs = new SQSClient({ ...clientConfig(), endpoint: gateway });
  const sns = new SNSClient({ ...clientConfig(), endpoint: gateway });
  const kms = new KMSClient({ ...clientConfig(), endpoint: services.kms.endpoint });
  const et = new ElasticTranscoderClient({ ...clientConfig(), endpoint: services.transcoder.endpoint });
  return {
    s3,
    sqs,
    sns,
    kms,
    et,
    destroy() {
      for (const client of [s3, sqs, sns, kms, et]) client.destroy();
    },
  };
}
