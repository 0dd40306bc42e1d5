/**
 * SDK clients, created once per process and shared. Endpoints come from the SDK's own AWS_ENDPOINT_URL_<SERVICE>
 * variables (the embedded stack sets them); nothing here special-cases local runs. Adapters accept a client
 * argument defaulting to these, so tests can inject mocks.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticTranscoderClient } from '@aws-sdk/client-elastic-transcoder';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { MediaConvertClient } from '@aws-sdk/client-mediaconvert';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';

// Path-style works with every S3-compatible endpoint (and is what an IP endpoint gets anyway); real S3 accepts it.
const forcePathStyle = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);

export const s3 = new S3Client({ forcePathStyle, maxAttempts: 3 });
export const kms = new KMSClient({ maxAttempts: 3 });
export const sfn = new SFNClient({ maxAttempts: 3 });
export const sns = new SNSClient({ maxAttempts: 3 });
export const eventBridge = new EventBridgeClient({ maxAttempts: 3 });
export const elasticTranscoder = new ElasticTranscoderClient({ maxAttempts: 3 });
/**
 * CreateJob has no client token: an SDK retry after a lost response would create a second job. This client never
 * retries; the state machine retries SubmitJob, which looks the job up before creating it.
 */
export const elasticTranscoderNoRetry = new ElasticTranscoderClient({ maxAttempts: 1 });
// The regional endpoint serves every account: MediaConvert's DescribeEndpoints is deprecated and no longer needed.
export const mediaConvert = new MediaConvertClient({ maxAttempts: 3 });
export const dynamodb = new DynamoDBClient({ maxAttempts: 3 });
// The playback functions' token secret and CloudFront private key.
export const ssm = new SSMClient({ maxAttempts: 3 });
