/** Assertions on the packaged CloudFormation template (test/support/packaged-template.ts packages it offline). */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { validateAgainstSpec } from '../support/cfn-spec.js';
import { projectRoot } from '../support/events.js';
import {
  can,
  decryptableBy,
  everyBlobUnder,
  findPath,
  type KmsPermission,
  kmsPermissionsByRole,
  type Via,
} from '../support/kms-custody.js';
import { packageTemplate } from '../support/packaged-template.js';

type Resource = {
  Type: string;
  Condition?: string;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties: Record<string, unknown>;
};
let resources: Record<string, Resource>;
let parameters: Record<string, unknown>;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

beforeAll(() => {
  resources = packageTemplate().Resources as Record<string, Resource>;
  parameters = (
    parse(readFileSync(join(projectRoot, 'serverless.yml'), 'utf8')) as {
      params: { default: Record<string, unknown> };
    }
  ).params.default;
}, 180_000);

describe('the packaged CloudFormation template', () => {
  it('runs every function on nodejs22.x', () => {
    // Assess
    const fns = ofType('AWS::Lambda::Function');
    expect(fns.length).toBe(14);
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

  it('expires what is left under the input prefix, and its noncurrent versions, after sourceExpirationDays', () => {
    // Prepare
    const bucket = resources.MediaBucket?.Properties as { LifecycleConfiguration: { Rules: unknown[] } };
    const rules = bucket.LifecycleConfiguration.Rules;
    // Assess
    expect(parameters.sourceExpirationDays).toBe('7');
    expect(rules).toContainEqual({
      Id: 'expire-unprocessed-sources',
      Status: 'Enabled',
      Prefix: 'incoming/',
      ExpirationInDays: '7',
      NoncurrentVersionExpiration: { NoncurrentDays: '7' },
    });
    expect(rules).toContainEqual(
      expect.objectContaining({ Prefix: 'incoming/', ExpiredObjectDeleteMarker: true }),
    );
  });

  it('deletes sources by default, and lets DisposeSource delete only source versions under the input prefix', () => {
    // Prepare
    const env = (name: string) =>
      (resources[name]?.Properties.Environment as { Variables: Record<string, unknown> } | undefined)
        ?.Variables ?? {};
    const policies = resources.DisposeSourceRole?.Properties.Policies as Array<{
      PolicyDocument: { Statement: Array<{ Action: string[]; Resource: unknown }> };
    }>;
    const statements = policies.flatMap((p) => p.PolicyDocument.Statement);
    const deleting = statements.filter((st) => st.Action.some((a) => a.startsWith('s3:Delete')));
    // Assess
    expect(parameters.sourceRetention).toBe('delete');
    for (const fn of ['DisposeSourceLambdaFunction', 'NotifyLambdaFunction'])
      expect({ fn, retention: env(fn).SOURCE_RETENTION }).toEqual({ fn, retention: 'delete' });
    expect(resources.DisposeSourceLambdaFunction?.Properties.Role).toEqual({
      'Fn::GetAtt': ['DisposeSourceRole', 'Arn'],
    });
    expect(deleting.map((st) => st.Action)).toEqual([['s3:DeleteObjectVersion', 's3:DeleteObject']]);
    expect(JSON.stringify(deleting[0]?.Resource)).toContain('/incoming/*');
    expect(statements.flatMap((st) => st.Action).sort()).toEqual([
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:GetObject',
    ]);
    for (const [name, role] of ofType('AWS::IAM::Role').filter(([k]) => k !== 'DisposeSourceRole')) {
      const actions = JSON.stringify(role.Properties.Policies ?? []);
      expect({ name, deletesVersions: actions.includes('s3:DeleteObjectVersion') }).toEqual({
        name,
        deletesVersions: false,
      });
    }
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
      'DisposeSource',
      'Notify',
      'Cleanup',
    ]) {
      expect(vars).toContain(`${fn}LambdaFunction`);
    }
  });

  it('grants no wildcard actions to any function role, and conditions KMS use on the encryption context', () => {
    // Assess
    const roles = ofType('AWS::IAM::Role').filter(([k]) => k !== 'TranscodeStateMachineRole');
    expect(roles.length).toBe(15);
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

  it('alarms on DLQ depth and on failed executions', () => {
    // Assess
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.MetricName);
    expect(alarms).toEqual(
      expect.arrayContaining(['ApproximateNumberOfMessagesVisible', 'ExecutionsFailed']),
    );
  });
});

const ET = 'elastictranscoder.amazonaws.com';
const MC = 'mediaconvert.amazonaws.com';
const KS = 'key-service.secure-transcode';
const SPEKE = 'speke-key-provider.secure-transcode';

type Row = {
  action: string;
  key: KmsPermission['key'];
  services?: string[];
  via?: Via;
  sameKeyOnly?: boolean;
};
const viaS3 = (action: string): Row => ({ action, key: 'WorkflowKey', via: 's3' });

/**
 * Which role may do what with which KMS key, under which `service` context. The template must match it exactly (no
 * more, no less). Roles absent from the table may hold no KMS data-plane permission at all.
 */
const ALLOWED: Record<string, Row[]> = {
  GenerateKeysRole: [
    { action: 'kms:GenerateDataKeyWithoutPlaintext', key: 'WorkflowKey', services: [ET] },
    { action: 'kms:GenerateDataKeyWithoutPlaintext', key: 'PlaybackKey', services: [KS] },
    { action: 'kms:ReEncryptFrom', key: 'PlaybackKey', services: [KS, SPEKE], sameKeyOnly: true },
    { action: 'kms:ReEncryptTo', key: 'PlaybackKey', services: [KS, SPEKE], sameKeyOnly: true },
  ],
  EncryptSourceRole: [
    { action: 'kms:Decrypt', key: 'WorkflowKey', services: [ET] },
    viaS3('kms:GenerateDataKey'),
    viaS3('kms:Decrypt'),
  ],
  CompleteUploadRole: [viaS3('kms:GenerateDataKey'), viaS3('kms:Decrypt')],
  WrapKeyRole: [
    { action: 'kms:ReEncryptFrom', key: 'WorkflowKey', services: [ET, MC] },
    { action: 'kms:ReEncryptTo', key: 'WorkflowKey', services: [ET, MC] },
    { action: 'kms:ReEncryptFrom', key: 'PlaybackKey', services: [KS, ET, MC] },
    { action: 'kms:ReEncryptTo', key: 'WorkflowKey', services: [KS, ET, MC] },
  ],
  SubmitJobRole: [viaS3('kms:GenerateDataKey')],
  KeyServiceRole: [{ action: 'kms:Decrypt', key: 'PlaybackKey', services: [KS] }, viaS3('kms:Decrypt')],
  IssueTokenRole: [viaS3('kms:Decrypt')],
  // Reads the master playlist (SSE-KMS) for each rendition's bitrate and codecs in the notification.
  NotifyRole: [viaS3('kms:Decrypt')],
  // MediaConvert's job role: the source key re-wrapped for it, and the bucket's SSE-KMS.
  MediaConvertJobRole: [
    { action: 'kms:Decrypt', key: 'WorkflowKey', services: [MC] },
    viaS3('kms:Decrypt'),
    viaS3('kms:GenerateDataKey'),
  ],
};
/** Checked when the template has this role (the MediaConvert SPEKE key provider): a subset of these rows. */
const SPEKE_KEY_PROVIDER_ROLE = 'SpekeKeyProviderRole';
const ALLOWED_SPEKE_KEY_PROVIDER: Row[] = [
  { action: 'kms:Decrypt', key: 'PlaybackKey', services: [SPEKE] },
  viaS3('kms:Decrypt'),
];

const spell = (p: Row) =>
  `${p.action} on ${p.key}${p.via === 's3' ? ' via S3' : ''}${p.sameKeyOnly ? ' (same key only)' : ''}` +
  ` context ${p.services ? [...p.services].sort().join('|') : 'ANY'}`;

/** Findings of the custody rules for a set of role permissions (empty = custody holds). */
function custodyFindings(byRole: Map<string, KmsPermission[]>): string[] {
  const findings: string[] = [];
  const consumers = [...byRole.keys()].filter((r) => r === 'KeyServiceRole' || r === SPEKE_KEY_PROVIDER_ROLE);
  const sources = decryptableBy(byRole, 'EncryptSourceRole');
  for (const consumer of consumers) {
    const targets = decryptableBy(byRole, consumer);
    const hit = (b: { key: string; service: string }) =>
      targets.some((t) => t.key === b.key && t.service === b.service);
    const direct = sources.find(hit);
    if (direct) findings.push(`${consumer} can Decrypt a source key blob (${direct.key}, ${direct.service})`);
    const path = findPath(byRole, sources, hit);
    if (path) {
      findings.push(
        `source key → ${consumer}: ${path.steps.map((s) => `${s.role} ${s.how} → (${s.to.key}, ${s.to.service})`).join('; ')}`,
      );
    }
  }
  const workflowToPlayback = findPath(
    byRole,
    everyBlobUnder(byRole, 'WorkflowKey'),
    (b) => b.key === 'PlaybackKey',
  );
  if (workflowToPlayback) {
    findings.push(
      `workflow key → playback key: ${workflowToPlayback.steps.map((s) => `${s.role} ${s.how}`).join('; ')}`,
    );
  }
  for (const [role, perms] of byRole) {
    const direct = perms.filter((p) => p.via === 'direct');
    if (
      direct.some((p) => p.action === 'kms:ReEncryptFrom' && p.key === 'WorkflowKey') &&
      direct.some((p) => p.action === 'kms:ReEncryptTo' && p.key === 'PlaybackKey')
    ) {
      findings.push(`${role} may ReEncryptFrom the workflow key and ReEncryptTo the playback key`);
    }
    const decryptsSource = sources.some((b) => can(perms, 'kms:Decrypt', b.key, b.service));
    const intoPlayback = direct.some(
      (p) =>
        p.key === 'PlaybackKey' &&
        ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair', 'kms:ReEncryptTo'].includes(
          p.action,
        ),
    );
    if (decryptsSource && intoPlayback)
      findings.push(`${role} can Decrypt a source key and write into the playback key`);
  }
  return findings;
}

/**
 * The statements of a design that loses custody: one KMS key and context for both data keys, so a workflow role can
 * ReEncrypt a source key into the key service's context and have it served as a playback key.
 */
function oldDesignRoles(): Record<string, Resource> {
  const workflowKey = { 'Fn::GetAtt': ['WorkflowKey', 'Arn'] };
  const role = (Statement: unknown[]): Resource => ({
    Type: 'AWS::IAM::Role',
    Properties: { Policies: [{ PolicyDocument: { Statement } }] },
  });
  return {
    GenerateKeysRole: role([
      {
        Effect: 'Allow',
        Action: ['kms:GenerateDataKeyWithoutPlaintext'],
        Resource: workflowKey,
        Condition: { StringEquals: { 'kms:EncryptionContext:service': ET } },
      },
      {
        Effect: 'Allow',
        Action: ['kms:ReEncryptFrom', 'kms:ReEncryptTo'],
        Resource: workflowKey,
        Condition: { StringEquals: { 'kms:EncryptionContext:service': [ET, KS] } },
      },
    ]),
    EncryptSourceRole: role([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: workflowKey,
        Condition: { StringEquals: { 'kms:EncryptionContext:service': ET } },
      },
    ]),
    KeyServiceRole: role([
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: workflowKey,
        Condition: { StringEquals: { 'kms:EncryptionContext:service': KS } },
      },
    ]),
  };
}

describe('KMS key custody in the packaged template', () => {
  it('gives every role exactly the KMS permissions of the allow-table', () => {
    // Prepare
    const byRole = kmsPermissionsByRole(resources);
    // Assess
    for (const [role, perms] of byRole) {
      if (role === 'TranscodeStateMachineRole') continue;
      const actual = perms.map(spell).sort();
      if (role === SPEKE_KEY_PROVIDER_ROLE) {
        const allowed = new Set(ALLOWED_SPEKE_KEY_PROVIDER.map(spell));
        expect({ role, extra: actual.filter((p) => !allowed.has(p)) }).toEqual({ role, extra: [] });
        expect(actual).toContain(spell(ALLOWED_SPEKE_KEY_PROVIDER[0] as Row));
        continue;
      }
      expect({ role, perms: actual }).toEqual({ role, perms: (ALLOWED[role] ?? []).map(spell).sort() });
    }
    for (const role of Object.keys(ALLOWED)) expect(byRole.has(role)).toBe(true);
  });

  it('has no path from a blob the encrypt step can decrypt to one the key service or the SPEKE key provider can', () => {
    // Prepare
    const byRole = kmsPermissionsByRole(resources);
    // Act
    const findings = custodyFindings(byRole);
    // Assess
    expect(findings).toEqual([]);
    expect(decryptableBy(byRole, 'EncryptSourceRole')).toEqual([{ key: 'WorkflowKey', service: ET }]);
    expect(decryptableBy(byRole, 'KeyServiceRole')).toEqual([{ key: 'PlaybackKey', service: KS }]);
  });

  it('flags the old design: GenerateKeys re-wraps a source key into the key-service context', () => {
    // Prepare
    const byRole = kmsPermissionsByRole(oldDesignRoles());
    // Act
    const findings = custodyFindings(byRole);
    // Assess
    expect(findings).toContain(
      `source key → KeyServiceRole: GenerateKeysRole ReEncrypt → (WorkflowKey, ${KS})`,
    );
  });

  it('flags a role that could carry a workflow-key blob into the playback key', () => {
    // Prepare: the new template plus one statement a careless change might add to WrapKey.
    const byRole = kmsPermissionsByRole(resources);
    const wrap = byRole.get('WrapKeyRole') ?? [];
    byRole.set('WrapKeyRole', [
      ...wrap,
      { action: 'kms:ReEncryptTo', key: 'PlaybackKey', services: [KS], via: 'direct', sameKeyOnly: false },
    ]);
    // Act
    const findings = custodyFindings(byRole);
    // Assess
    expect(findings).toEqual(
      expect.arrayContaining([
        'WrapKeyRole may ReEncryptFrom the workflow key and ReEncryptTo the playback key',
        expect.stringMatching(/^source key → KeyServiceRole: WrapKeyRole ReEncrypt/),
      ]),
    );
  });

  it('lets nobody Encrypt into the playback key or ReEncrypt into it from another key (key policy)', () => {
    // Prepare
    const policy = resources.PlaybackKey?.Properties.KeyPolicy as {
      Statement: Array<{
        Effect: string;
        Principal: unknown;
        Action: string | string[];
        Condition?: unknown;
      }>;
    };
    const allowed = policy.Statement.filter((st) => st.Effect === 'Allow').flatMap((st) =>
      ([] as string[]).concat(st.Action),
    );
    const denied = (action: string) =>
      policy.Statement.find(
        (st) =>
          st.Effect === 'Deny' &&
          JSON.stringify(st.Principal) === JSON.stringify({ AWS: '*' }) &&
          ([] as string[]).concat(st.Action).includes(action),
      );
    // Assess
    expect(resources.PlaybackKey?.Condition).toBeUndefined();
    for (const action of [
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:GenerateDataKeyPair',
      'kms:ReEncrypt*',
    ]) {
      expect(allowed).not.toContain(action);
    }
    for (const action of ['kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair']) {
      expect(denied(action)?.Condition).toBeUndefined();
    }
    expect(denied('kms:ReEncryptTo')?.Condition).toEqual({ Bool: { 'kms:ReEncryptOnSameKey': 'false' } });
    expect(JSON.stringify(policy)).not.toContain('"Service"');
  });

  it('scopes the workflow key grant to S3 to this bucket, this account and this region', () => {
    // Prepare
    const policy = resources.WorkflowKey?.Properties.KeyPolicy as {
      Statement: Array<{ Principal?: unknown; Condition?: Record<string, Record<string, unknown>> }>;
    };
    const s3 = policy.Statement.filter((st) =>
      JSON.stringify(st.Principal ?? null).includes('s3.amazonaws.com'),
    );
    // Assess
    expect(s3).toHaveLength(1);
    const condition = s3[0]?.Condition ?? {};
    expect(condition.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(condition.StringEquals?.['kms:ViaService']).toEqual({
      'Fn::Sub': `s3.${'$'}{AWS::Region}.amazonaws.com`,
    });
    expect(JSON.stringify(condition.ArnLike?.['kms:EncryptionContext:aws:s3:arn'])).toContain(
      `arn:${'$'}{AWS::Partition}:s3:::secure-transcode-dev-${'$'}{AWS::AccountId}-${'$'}{AWS::Region}`,
    );
  });

  it('gives CloudFront no grant on the workflow key, and lets only this distribution read outputs/ (SSE-S3)', () => {
    // Prepare
    const keyPolicy = JSON.stringify(resources.WorkflowKey?.Properties.KeyPolicy);
    const bucketPolicy = resources.MediaBucketPolicy?.Properties.PolicyDocument as {
      Statement: Array<Record<string, unknown>>;
    };
    const cloudFront = bucketPolicy.Statement.flatMap((st) =>
      'Fn::If' in st ? [(st['Fn::If'] as unknown[])[1] as Record<string, unknown>] : [st],
    ).filter((st) => JSON.stringify(st.Principal ?? null).includes('cloudfront.amazonaws.com'));
    // Assess
    expect(keyPolicy).not.toContain('cloudfront');
    expect(JSON.stringify(resources)).not.toContain(':distribution/*');
    expect(cloudFront).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Condition: {
          StringEquals: {
            'aws:SourceArn': {
              'Fn::Sub': `arn:${'$'}{AWS::Partition}:cloudfront::${'$'}{AWS::AccountId}:distribution/${'$'}{MediaDistribution}`,
            },
          },
        },
      }),
    ]);
  });

  it('gives every function the playback key id as PLAYBACK_KMS_KEY_ID', () => {
    // Assess
    for (const [name, fn] of ofType('AWS::Lambda::Function')) {
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect({ name, id: env.PLAYBACK_KMS_KEY_ID }).toEqual({
        name,
        id: { 'Fn::GetAtt': ['PlaybackKey', 'Arn'] },
      });
    }
  });
});

describe('the key service limits in the packaged template', () => {
  it('throttles the HTTP API stage and reserves the key service concurrency from parameters', () => {
    // Prepare
    const stage = resources.HttpApiStage?.Properties as {
      DefaultRouteSettings: { ThrottlingRateLimit: unknown; ThrottlingBurstLimit: unknown };
    };
    // Assess
    expect(parameters).toMatchObject({
      httpApiThrottlingRateLimit: '50',
      httpApiThrottlingBurstLimit: '100',
      keyServiceReservedConcurrency: '20',
    });
    expect(Number(stage.DefaultRouteSettings.ThrottlingRateLimit)).toBe(50);
    expect(Number(stage.DefaultRouteSettings.ThrottlingBurstLimit)).toBe(100);
    expect(resources.KeyServiceLambdaFunction?.Properties.ReservedConcurrentExecutions).toEqual({
      'Fn::If': ['ReserveKeyServiceConcurrency', '20', { Ref: 'AWS::NoValue' }],
    });
  });

  it('names only the configured bucket as the starter source bucket', () => {
    // Assess
    const environment = resources.StarterLambdaFunction?.Properties.Environment as
      | { Variables: Record<string, unknown> }
      | undefined;
    const env = environment?.Variables ?? {};
    expect(env.SOURCE_BUCKETS).toEqual({ 'Fn::If': ['CreateBucket', { Ref: 'MediaBucket' }, ''] });
  });
});

type PolicyStatement = {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};
function resource(id: string): Resource {
  const found = resources[id];
  if (!found) throw new Error(`No ${id} in the template`);
  return found;
}
const statementsOf = (roleName: string): PolicyStatement[] =>
  (
    resource(roleName).Properties.Policies as Array<{ PolicyDocument: { Statement: PolicyStatement[] } }>
  ).flatMap((p) => p.PolicyDocument.Statement);
const actionsOf = (st: PolicyStatement) => ([] as string[]).concat(st.Action);
const envOf = (functionKey: string) =>
  (
    resource(`${functionKey[0]?.toUpperCase()}${functionKey.slice(1)}LambdaFunction`).Properties as {
      Environment: { Variables: Record<string, unknown> };
    }
  ).Environment.Variables;

describe('the packaged template: MediaConvert by default', () => {
  it('selects MediaConvert and hands the workflow the job role and SPEKE URL the stack creates', () => {
    // Act
    const env = envOf('submitJob');
    // Assess
    expect(env.TRANSCODER_BACKEND).toBe('mediaconvert');
    expect(env.MEDIACONVERT_ROLE_ARN).toEqual({ 'Fn::GetAtt': ['MediaConvertJobRole', 'Arn'] });
    expect(JSON.stringify(env.MEDIACONVERT_SPEKE_URL)).toMatch(/\$\{ApiGatewayRestApi\}.*\/copyProtection/);
  });

  it('leaves no required id or ARN empty in any function environment', () => {
    // Act
    const empty = ofType('AWS::Lambda::Function').flatMap(([id, fn]) =>
      Object.entries(
        (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment.Variables,
      )
        .filter(
          ([name, value]) =>
            value === '' && !/^(PIPELINE_ID|MEDIACONVERT_QUEUE_ARN|PLAYER_ORIGINS)$/.test(name),
        )
        .map(([name]) => `${id}.${name}`),
    );
    // Assess
    expect(empty).toEqual([]);
  });

  it('trusts only MediaConvert acting for this account with the job role, and scopes what it may do', () => {
    // Act
    const trust = (
      resource('MediaConvertJobRole').Properties.AssumeRolePolicyDocument as { Statement: PolicyStatement[] }
    ).Statement;
    const statements = statementsOf('MediaConvertJobRole');
    const kms = statements.filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
    // Assess
    expect(trust).toEqual([
      expect.objectContaining({
        Principal: { Service: 'mediaconvert.amazonaws.com' },
        Condition: {
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
          ArnLike: { 'aws:SourceArn': expect.anything() },
        },
      }),
    ]);
    expect(kms.map((st) => st.Condition)).toEqual([
      { StringEquals: { 'kms:EncryptionContext:service': 'mediaconvert.amazonaws.com' } },
      { StringEquals: { 'kms:ViaService': expect.anything() } },
    ]);
    expect(
      JSON.stringify(statements.find((st) => actionsOf(st).includes('s3:GetObject'))?.Resource),
    ).toContain('/encrypted/*');
    expect(
      JSON.stringify(statements.find((st) => actionsOf(st).includes('s3:PutObject'))?.Resource),
    ).toContain('/outputs/*');
    expect(
      JSON.stringify(statements.find((st) => actionsOf(st).includes('execute-api:Invoke'))?.Resource),
    ).toContain('/POST/copyProtection');
  });

  it('lets SubmitJob pass the job role, and only to MediaConvert', () => {
    // Act
    const passRole = statementsOf('SubmitJobRole').filter((st) => actionsOf(st).includes('iam:PassRole'));
    // Assess
    expect(passRole).toEqual([
      expect.objectContaining({
        Resource: { 'Fn::GetAtt': ['MediaConvertJobRole', 'Arn'] },
        Condition: { StringEquals: { 'iam:PassedToService': 'mediaconvert.amazonaws.com' } },
      }),
    ]);
  });

  it('serves SPEKE behind AWS_IAM auth with a resource policy that admits only the job role and no data tracing', () => {
    // Act
    const [, method] = ofType('AWS::ApiGateway::Method')[0] ?? [];
    const policy = resource('ApiGatewayRestApi').Properties.Policy as { Statement: PolicyStatement[] };
    const stages = ofType('AWS::ApiGateway::Stage');
    const deployments = ofType('AWS::ApiGateway::Deployment');
    // Assess
    expect(ofType('AWS::ApiGateway::Method')).toHaveLength(1);
    expect(method?.Properties).toMatchObject({ HttpMethod: 'POST', AuthorizationType: 'AWS_IAM' });
    expect(policy.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Allow',
        Resource: 'execute-api:/*/POST/copyProtection',
        Condition: { ArnEquals: { 'aws:PrincipalArn': { 'Fn::GetAtt': ['MediaConvertJobRole', 'Arn'] } } },
      }),
    ]);
    expect(JSON.stringify([...stages, ...deployments])).not.toMatch(/DataTraceEnabled"?:\s*true/);
  });

  it('lets the SPEKE key provider Decrypt only the SPEKE copies on the playback key', () => {
    // Act
    const kms = statementsOf('SpekeKeyProviderRole').filter((st) =>
      actionsOf(st).some((a) => a.startsWith('kms:')),
    );
    // Assess
    expect(kms).toEqual([
      expect.objectContaining({
        Action: ['kms:Decrypt'],
        Resource: { 'Fn::GetAtt': ['PlaybackKey', 'Arn'] },
        Condition: {
          StringEquals: { 'kms:EncryptionContext:service': 'speke-key-provider.secure-transcode' },
        },
      }),
      expect.objectContaining({ Condition: { StringEquals: { 'kms:ViaService': expect.anything() } } }),
    ]);
  });

  it('retains the media bucket and the key that reads it when the stack is deleted', () => {
    // Assess
    for (const id of ['MediaBucket', 'WorkflowKey']) {
      expect(resources[id]).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('always puts a CloudFront distribution with origin access control in front of the outputs and the key service', () => {
    // Act
    const config = resources.MediaDistribution?.Properties.DistributionConfig as {
      Origins: Array<{ Id: string; OriginAccessControlId?: unknown; DomainName: unknown }>;
      CacheBehaviors: Array<{ PathPattern: string; TargetOriginId: string; CachePolicyId: string }>;
      DefaultCacheBehavior: { TargetOriginId: string; ViewerProtocolPolicy: string };
    };
    // Assess
    expect(resources.MediaDistribution?.Condition).toBeUndefined();
    expect(resources.MediaOriginAccessControl?.Condition).toBeUndefined();
    expect(config.Origins.map((o) => o.Id)).toEqual(['media', 'keyService']);
    expect(config.Origins[0]?.OriginAccessControlId).toEqual({
      'Fn::GetAtt': ['MediaOriginAccessControl', 'Id'],
    });
    expect(JSON.stringify(config.Origins[1]?.DomainName)).toContain('HttpApi}.execute-api.');
    expect(config.DefaultCacheBehavior).toMatchObject({
      TargetOriginId: 'media',
      ViewerProtocolPolicy: 'https-only',
    });
    // The playlist and key routes reach the key service through the same distribution, never cached
    // (managed policy CachingDisabled).
    expect(config.CacheBehaviors.map((b) => [b.PathPattern, b.TargetOriginId, b.CachePolicyId])).toEqual([
      ['/play/*', 'keyService', '4135ea2d-6df8-44a3-9df4-4b5a84be39ad'],
      ['/keys/*', 'keyService', '4135ea2d-6df8-44a3-9df4-4b5a84be39ad'],
    ]);
    // The bucket stays private: no public access, no grant to everyone.
    expect(resources.MediaBucket?.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
  });

  it("sends the key service the distribution's origin secret and the viewer's address", () => {
    // Prepare
    const config = resources.MediaDistribution?.Properties.DistributionConfig as {
      Origins: Array<{
        Id: string;
        OriginCustomHeaders?: Array<{ HeaderName: string; HeaderValue: unknown }>;
      }>;
      CacheBehaviors: Array<{ OriginRequestPolicyId: unknown }>;
    };
    const policy = resources.KeyServiceOriginRequestPolicy?.Properties.OriginRequestPolicyConfig as {
      HeadersConfig: { HeaderBehavior: string; Headers: string[] };
      QueryStringsConfig: { QueryStringBehavior: string };
    };
    const keyService = resources.KeyServiceLambdaFunction?.Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    const role = JSON.stringify(resources.KeyServiceRole?.Properties.Policies);
    // Assess
    expect(config.Origins.find((o) => o.Id === 'keyService')?.OriginCustomHeaders).toEqual([
      {
        HeaderName: 'X-Origin-Verify',
        HeaderValue: { 'Fn::Sub': `{{resolve:secretsmanager:${'$'}{OriginVerifySecret}:SecretString}}` },
      },
    ]);
    expect(resources.OriginVerifySecret?.Properties).toMatchObject({
      Name: 'secure-transcode-dev-origin-verify',
      GenerateSecretString: { PasswordLength: 48 },
    });
    expect(config.CacheBehaviors.map((b) => b.OriginRequestPolicyId)).toEqual([
      { Ref: 'KeyServiceOriginRequestPolicy' },
      { Ref: 'KeyServiceOriginRequestPolicy' },
    ]);
    expect(policy.HeadersConfig.HeaderBehavior).toBe('whitelist');
    expect(policy.HeadersConfig.Headers).toContain('CloudFront-Viewer-Address');
    expect(policy.HeadersConfig.Headers).not.toContain('Host');
    expect(policy.QueryStringsConfig.QueryStringBehavior).toBe('all');
    expect(keyService.Variables.ORIGIN_VERIFY_PARAM).toBe(
      '/aws/reference/secretsmanager/secure-transcode-dev-origin-verify',
    );
    expect(role).toContain('{"Ref":"OriginVerifySecret"}');
    expect(role).toContain('parameter/aws/reference/secretsmanager/secure-transcode-dev-origin-verify');
  });

  it('signs segments with a key group only when a public key is given, and refuses them at the edge otherwise', () => {
    // Act
    const config = resources.MediaDistribution?.Properties.DistributionConfig as {
      DefaultCacheBehavior: { TrustedKeyGroups: unknown; FunctionAssociations: unknown };
    };
    const behavior = config.DefaultCacheBehavior;
    const refuse = resources.RefuseUnsignedSegments;
    // Assess
    for (const id of ['CloudFrontKeyGroup', 'CloudFrontPublicKey']) {
      expect(resources[id]?.Condition).toBe('HasCloudFrontKey');
    }
    expect(behavior.TrustedKeyGroups).toEqual({
      'Fn::If': ['HasCloudFrontKey', [{ Ref: 'CloudFrontKeyGroup' }], { Ref: 'AWS::NoValue' }],
    });
    expect(behavior.FunctionAssociations).toEqual({
      'Fn::If': [
        'HasCloudFrontKey',
        { Ref: 'AWS::NoValue' },
        [
          {
            EventType: 'viewer-request',
            FunctionARN: { 'Fn::GetAtt': ['RefuseUnsignedSegments', 'FunctionARN'] },
          },
        ],
      ],
    });
    expect(refuse?.Condition).toBe('NoCloudFrontKey');
    expect(String(refuse?.Properties.FunctionCode)).toMatch(/statusCode:\s*403/);
    // CloudFront may read the bucket (outputs/ only) only when it serves signed segments.
    const bucketPolicy = JSON.stringify(resources.MediaBucketPolicy?.Properties);
    expect(bucketPolicy).toMatch(/"Fn::If":\["HasCloudFrontKey",\{"Sid":"AllowCloudFrontSegments"/);
    expect(bucketPolicy).toMatch(/cloudfront\.amazonaws\.com.*outputs\/\*/);
  });
});

describe('the packaged template against the CloudFormation resource specification', () => {
  it('uses only known resource types and properties, with every required property set', async () => {
    // Act
    const problems = await validateAgainstSpec(resources);
    // Assess
    expect(problems).toEqual([]);
  });
});
