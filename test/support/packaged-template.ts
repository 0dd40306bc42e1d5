/**
 * `serverless package` runs offline with no AWS credentials; tests assert on the CloudFormation template it
 * writes, without deploying (the approach of serverless-step-functions fixture tests).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from './events.js';

export type TemplateResource = {
  Type: string;
  Condition?: string;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Properties: Record<string, unknown>;
};

export interface PackagedTemplate {
  Resources: Record<string, TemplateResource>;
  Parameters?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
}

/**
 * Packages the project from a temporary copy, so parallel test runs never race on .serverless/ in the working
 * tree. `params` are passed as `--param` options, as a user deploying would.
 */
export function packageTemplate(options: { params?: Record<string, string> } = {}): PackagedTemplate {
  const dir = mkdtempSync(join(tmpdir(), 'st-sls-'));
  try {
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
    const params = Object.entries(options.params ?? {}).map(([k, v]) => `--param=${k}=${v}`);
    execFileSync(
      process.execPath,
      [join(projectRoot, 'node_modules/osls/bin/serverless.js'), 'package', ...params],
      {
        cwd: dir,
        env,
        stdio: 'pipe',
      },
    );
    return JSON.parse(
      readFileSync(join(dir, '.serverless/cloudformation-template-update-stack.json'), 'utf8'),
    ) as PackagedTemplate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
