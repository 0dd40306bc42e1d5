/**
 * `serverless package` runs offline with no AWS credentials; the generated CloudFormation template is asserted on
 * without deploying (the approach of serverless-step-functions fixture tests).
 */

import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { projectRoot } from '../helpers/events.js';

type Resource = { Type: string; Condition?: string; Properties: Record<string, unknown> };
let resources: Record<string, Resource>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

beforeAll(() => {
  // Package from a copy so parallel test runs never race on .serverless/ in the working tree.
  const dir = mkdtempSync(join(tmpdir(), 'st-sls-'));
  for (const entry of [
    'serverless.yml',
    'package.json',
    'tsconfig.json',
    'functions',
    'lib',
    'statemachines',
  ]) {
    cpSync(join(projectRoot, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'));
  const env = {
    ...process.env,
    SLS_TELEMETRY_DISABLED: '1',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_PROFILE: 'none',
    HOME: dir,
  };
  execFileSync(process.execPath, [join(projectRoot, 'node_modules/osls/bin/serverless.js'), 'package'], {
    cwd: dir,
    env,
    stdio: 'pipe',
  });
  resources = (
    JSON.parse(readFileSync(join(dir, '.serverless/cloudformation-template-update-stack.json'), 'utf8')) as {
      Resources: Record<string, Resource>;
    }
  ).Resources;
  rmSync(dir, { recursive: true, force: true });
}, 180_000);

type Statement = {
  Effect: string;
  Action: string[];
  Condition?: Record<string, Record<string, string | string[]>>;
};

/**
 * Whether a role's inline policies allow `action` for a direct call (no `kms:ViaService`) under `context`. Only the
 * condition operators this template uses are understood; any other makes the test fail rather than guess.
 */
function allows(roleName: string, action: string, context: Record<string, string>): boolean {
  const role = resources[roleName];
  if (!role) throw new Error(`No role ${roleName} in the template`);
  const request: Record<string, string> = Object.fromEntries(
    Object.entries(context).map(([k, v]) => [`kms:EncryptionContext:${k}`, v]),
  );
  const statements = (
    role.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>
  ).flatMap((p) => p.PolicyDocument.Statement);
  return statements.some((st) => {
    if (st.Effect !== 'Allow' || !st.Action.includes(action)) return false;
    return Object.entries(st.Condition ?? {}).every(([operator, clauses]) => {
      if (operator !== 'StringEquals') throw new Error(`Unexpected condition operator ${operator}`);
      return Object.entries(clauses).every(([key, values]) => {
        const actual = request[key];
        return actual !== undefined && ([] as string[]).concat(values).includes(actual);
      });
    });
  });
}

describe('the packaged CloudFormation template', () => {
  it('runs every function on nodejs22.x', () => {
    // Assess
    const fns = ofType('AWS::Lambda::Function');
    expect(fns.length).toBe(12);
    for (const [, fn] of fns) expect(fn.Properties.Runtime).toBe('nodejs22.x');
  });

  it('blocks public access, requires TLS and aborts incomplete multipart uploads on the bucket', () => {
    // Assess
    const bucket = resources.MediaBucket?.Properties as {
      PublicAccessBlockConfiguration: unknown;
      LifecycleConfiguration: { Rules: unknown[] };
      NotificationConfiguration: { QueueConfigurations: unknown[] };
    };
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 2 } }),
    );
    expect(bucket.NotificationConfiguration.QueueConfigurations[0]).toMatchObject({
      Event: 's3:ObjectCreated:*',
      Filter: { S3Key: { Rules: [{ Name: 'prefix', Value: 'incoming/' }] } },
    });
    const policy = resources.MediaBucketPolicy?.Properties.PolicyDocument as {
      Statement: Array<Record<string, unknown>>;
    };
    expect(policy.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('lets each existing resource be swapped in through a parameter condition', () => {
    // Assess
    expect(resources.MediaBucket?.Condition).toBe('CreateBucket');
    expect(resources.WorkflowKey?.Condition).toBe('CreateKmsKey');
  });

  it('feeds the starter from a queue with a DLQ and partial batch failures', () => {
    // Assess
    const queue = resources.IngestQueue?.Properties as { RedrivePolicy: unknown };
    expect(queue.RedrivePolicy).toMatchObject({
      deadLetterTargetArn: { 'Fn::GetAtt': ['IngestDeadLetterQueue', 'Arn'] },
      maxReceiveCount: 5,
    });
    const [, mapping] = ofType('AWS::Lambda::EventSourceMapping')[0] ?? [];
    expect(mapping?.Properties).toMatchObject({
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
    });
  });

  it('wires every Task of the ASL file to its Lambda', () => {
    // Assess
    const sm = resources.TranscodeStateMachine?.Properties.DefinitionString as {
      'Fn::Sub': [string, Record<string, unknown>];
    };
    const vars = JSON.stringify(sm['Fn::Sub'][1]);
    for (const fn of [
      'ValidateSource',
      'GenerateKeys',
      'EncryptSource',
      'CompleteUpload',
      'WrapKey',
      'SubmitJob',
      'PollJob',
      'Notify',
      'Cleanup',
    ]) {
      expect(vars).toContain(`${fn}LambdaFunction`);
    }
  });

  it('grants no wildcard actions to any function role, and conditions KMS use on the encryption context', () => {
    // Assess
    const roles = ofType('AWS::IAM::Role').filter(([k]) => k !== 'TranscodeStateMachineRole');
    expect(roles.length).toBe(12);
    for (const [name, role] of roles) {
      const statements = (
        role.Properties.Policies as Array<{
          PolicyDocument: {
            Statement: Array<{ Action: string[]; Condition?: Record<string, Record<string, unknown>> }>;
          };
        }>
      ).flatMap((p) => p.PolicyDocument.Statement);
      for (const st of statements) {
        for (const action of st.Action)
          expect({ name, action }).toEqual({ name, action: expect.not.stringMatching(/\*/) });
        if (st.Action.includes('kms:Decrypt') || st.Action.includes('kms:GenerateDataKeyWithoutPlaintext')) {
          const cond = JSON.stringify(st.Condition ?? {});
          expect({ name, cond }).toEqual({
            name,
            cond: expect.stringMatching(/kms:EncryptionContext:service|kms:ViaService/),
          });
        }
      }
    }
  });

  it('lets the key service Decrypt only under the key-service context, never the Elastic Transcoder one', () => {
    // Assess: a direct Decrypt from the Lambda (no kms:ViaService) under each context.
    expect(
      allows('KeyServiceRole', 'kms:Decrypt', { service: 'key-service.secure-transcode', assetId: 'a1' }),
    ).toBe(true);
    expect(allows('KeyServiceRole', 'kms:Decrypt', { service: 'elastictranscoder.amazonaws.com' })).toBe(
      false,
    );
    expect(allows('KeyServiceRole', 'kms:Decrypt', { service: 'mediaconvert.amazonaws.com' })).toBe(false);
    expect(allows('KeyServiceRole', 'kms:Decrypt', {})).toBe(false);
    expect(
      allows('KeyServiceRole', 'kms:ReEncryptFrom', { service: 'elastictranscoder.amazonaws.com' }),
    ).toBe(false);
    // The source key's context stays the encrypt step's.
    expect(allows('EncryptSourceRole', 'kms:Decrypt', { service: 'elastictranscoder.amazonaws.com' })).toBe(
      true,
    );
  });

  it('lets GenerateKeys ReEncrypt from the Elastic Transcoder context into the key-service context, but not Decrypt', () => {
    // Assess
    const et = { service: 'elastictranscoder.amazonaws.com' };
    const keyService = { service: 'key-service.secure-transcode', assetId: 'a1' };
    expect(allows('GenerateKeysRole', 'kms:ReEncryptFrom', et)).toBe(true);
    expect(allows('GenerateKeysRole', 'kms:ReEncryptTo', keyService)).toBe(true);
    expect(allows('GenerateKeysRole', 'kms:ReEncryptTo', { service: 'mediaconvert.amazonaws.com' })).toBe(
      false,
    );
    expect(allows('GenerateKeysRole', 'kms:Decrypt', et)).toBe(false);
    expect(allows('GenerateKeysRole', 'kms:Decrypt', keyService)).toBe(false);
  });

  it('alarms on DLQ depth and on failed executions', () => {
    // Assess
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.MetricName);
    expect(alarms).toEqual(
      expect.arrayContaining(['ApproximateNumberOfMessagesVisible', 'ExecutionsFailed']),
    );
  });
});
