/**
 * The IAM actions that authorise an SDK command. Most commands authorise as the action of the same name; the
 * exceptions below are S3's (the service authorises several API calls as one action) and KMS's ReEncrypt, which is
 * checked on both keys. Every name produced here is checked against AWS's IAM data by the grant test.
 */
import type { SdkCall } from './sdk-calls.js';

const SERVICE_PREFIX: Readonly<Record<string, string>> = {
  'client-s3': 's3',
  'client-kms': 'kms',
  'client-mediaconvert': 'mediaconvert',
  'client-elastic-transcoder': 'elastictranscoder',
  'client-sfn': 'states',
  'client-sns': 'sns',
  'client-sqs': 'sqs',
  'client-eventbridge': 'events',
  'client-dynamodb': 'dynamodb',
  'client-ssm': 'ssm',
};

const S3_ACTIONS: Readonly<Record<string, string>> = {
  HeadObject: 'GetObject',
  ListObjectsV2: 'ListBucket',
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
  ListParts: 'ListMultipartUploadParts',
  ListMultipartUploads: 'ListBucketMultipartUploads',
  DeleteObjects: 'DeleteObject',
};

/** S3 checks a different action when the request names a version. */
const S3_VERSIONED: Readonly<Record<string, string>> = {
  GetObject: 'GetObjectVersion',
  DeleteObject: 'DeleteObjectVersion',
};

export function iamActionsFor(call: SdkCall): string[] {
  const prefix = SERVICE_PREFIX[call.client];
  if (!prefix) throw new Error(`no IAM service prefix known for @aws-sdk/${call.client} (${call.site})`);
  if (prefix === 'kms' && call.command === 'ReEncrypt') return ['kms:ReEncryptFrom', 'kms:ReEncryptTo'];
  if (prefix !== 's3') return [`${prefix}:${call.command}`];
  const action = S3_ACTIONS[call.command] ?? call.command;
  // An input that may carry a VersionId needs both: S3 checks the plain action when the version is absent.
  const versioned = call.versioned ? S3_VERSIONED[action] : undefined;
  return versioned ? [`s3:${action}`, `s3:${versioned}`] : [`s3:${action}`];
}
