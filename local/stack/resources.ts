/**
 * The cloud resources serverless.yml declares, created through the same APIs on the local endpoints: the ingest
 * queue with its DLQ redrive, the notifications topic with a queue subscription, the two KMS keys (workflow and playback) with their aliases, and the
 * Elastic Transcoder pipeline (which, as in AWS, is not a CloudFormation resource). Queues, topic and subscription
 * persist with fauxqs and are found again by name (CreateQueue, CreateTopic and Subscribe are idempotent); ids that
 * must survive a restart (key, pipeline) are kept in `<dataDir>/stack-state.json` and reused when the servers still
 * know them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreatePipelineCommand,
  type ElasticTranscoderClient,
  ReadPipelineCommand,
} from '@aws-sdk/client-elastic-transcoder';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DescribeKeyCommand,
  type KMSClient,
  ListAliasesCommand,
} from '@aws-sdk/client-kms';
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { writePrivateFile } from './credentials.js';

export interface QueueRef {
  url: string;
  arn: string;
}

export interface Provisioned {
  ingest: QueueRef;
  dlq: QueueRef;
  notifications: QueueRef;
  topicArn: string;
  kmsKeyId: string;
  kmsKeyArn: string;
  /** The playback key (PLAYBACK_KMS_KEY_ID): playback keys only, as PlaybackKey in serverless.yml. */
  playbackKmsKeyArn: string;
  pipelineId: string;
}

interface SavedState {
  kmsKeyArn?: string;
  playbackKmsKeyArn?: string;
  pipelineId?: string;
}

export const KMS_ALIAS = 'alias/secure-transcode';
export const PLAYBACK_KMS_ALIAS = 'alias/secure-transcode-playback';

async function queue(
  sqs: SQSClient,
  name: string,
  attributes: Record<string, string> = {},
): Promise<QueueRef> {
  // Queues persist across restarts, and CreateQueue refuses an existing queue whose attributes differ (as SQS does):
  // create by name, then set what this start wants (e.g. `--fast` changes the ingest visibility timeout).
  const created = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const url = created.QueueUrl ?? '';
  if (Object.keys(attributes).length > 0)
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  const attrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return { url, arn: attrs.Attributes?.QueueArn ?? '' };
}

async function ensureKey(
  kms: KMSClient,
  savedArn: string | undefined,
  description: string,
): Promise<{ keyId: string; arn: string }> {
  if (savedArn) {
    const found = await kms.send(new DescribeKeyCommand({ KeyId: savedArn })).catch(() => undefined);
    const meta = found?.KeyMetadata;
    if (meta?.KeyId && meta.Arn && meta.Enabled !== false) return { keyId: meta.KeyId, arn: meta.Arn };
  }
  const created = await kms.send(new CreateKeyCommand({ Description: description }));
  return { keyId: created.KeyMetadata?.KeyId ?? '', arn: created.KeyMetadata?.Arn ?? '' };
}

async function ensureAlias(kms: KMSClient, alias: string, keyId: string): Promise<void> {
  const aliases = await kms.send(new ListAliasesCommand({ KeyId: keyId }));
  if (aliases.Aliases?.some((a) => a.AliasName === alias)) return;
  const all = await kms.send(new ListAliasesCommand({}));
  // An alias left pointing at an older key (a deleted key file) is not ours to move; the ARN is what the stack uses.
  if (all.Aliases?.some((a) => a.AliasName === alias)) return;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
}

async function ensurePipeline(
  et: ElasticTranscoderClient,
  saved: SavedState,
  bucket: string,
  kmsKeyArn: string,
  accountId: string,
): Promise<string> {
  if (saved.pipelineId) {
    const found = await et.send(new ReadPipelineCommand({ Id: saved.pipelineId })).catch(() => undefined);
    if (found?.Pipeline?.Id && found.Pipeline.AwsKmsKeyArn === kmsKeyArn) return found.Pipeline.Id;
  }
  const created = await et.send(
    new CreatePipelineCommand({
      Name: 'secure-transcode-local',
      InputBucket: bucket,
      OutputBucket: bucket,
      Role: `arn:aws:iam::${accountId}:role/Elastic_Transcoder_Default_Role`,
      AwsKmsKeyArn: kmsKeyArn,
    }),
  );
  return created.Pipeline?.Id ?? '';
}

export async function provision(options: {
  dataDir: string;
  bucket: string;
  accountId: string;
  ingestVisibilitySeconds: number;
  maxReceiveCount: number;
  sqs: SQSClient;
  sns: SNSClient;
  kms: KMSClient;
  et: ElasticTranscoderClient;
}): Promise<Provisioned> {
  const statePath = join(options.dataDir, 'stack-state.json');
  const saved: SavedState = existsSync(statePath)
    ? (JSON.parse(readFileSync(statePath, 'utf8')) as SavedState)
    : {};

  const dlq = await queue(options.sqs, 'secure-transcode-ingest-dlq', { MessageRetentionPeriod: '1209600' });
  const ingest = await queue(options.sqs, 'secure-transcode-ingest', {
    VisibilityTimeout: String(options.ingestVisibilitySeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: options.maxReceiveCount }),
  });
  // A notification received just before a kill comes back this many seconds after the restart.
  const notifications = await queue(options.sqs, 'secure-transcode-notifications-local', {
    VisibilityTimeout: '5',
  });
  const topic = await options.sns.send(new CreateTopicCommand({ Name: 'secure-transcode-notifications' }));
  const topicArn = topic.TopicArn ?? '';
  await options.sns.send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: notifications.arn }),
  );

  const key = await ensureKey(
    options.kms,
    saved.kmsKeyArn,
    'secure-transcode local workflow key (source data keys, transcoder copies)',
  );
  await ensureAlias(options.kms, KMS_ALIAS, key.keyId);
  const playbackKey = await ensureKey(
    options.kms,
    saved.playbackKmsKeyArn,
    'secure-transcode local playback key (playback keys only)',
  );
  await ensureAlias(options.kms, PLAYBACK_KMS_ALIAS, playbackKey.keyId);
  const pipelineId = await ensurePipeline(options.et, saved, options.bucket, key.arn, options.accountId);

  const state: SavedState = { kmsKeyArn: key.arn, playbackKmsKeyArn: playbackKey.arn, pipelineId };
  writePrivateFile(statePath, `${JSON.stringify(state, null, 2)}\n`);
  return {
    ingest,
    dlq,
    notifications,
    topicArn,
    kmsKeyId: key.keyId,
    kmsKeyArn: key.arn,
    playbackKmsKeyArn: playbackKey.arn,
    pipelineId,
  };
}
