/**
 * Credentials for tests, read from a data directory exactly as the CLI and the stack read them: every local endpoint
 * checks SigV4 against the data directory's keys, so tests sign with those and never with fixed ones.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalAuth } from '../../local/http/request-guard.js';
import {
  LOCAL_REGION_NAME,
  loadOrCreateCredentials,
  type StackCredentials,
} from '../../local/stack/credentials.js';

export const TEST_REGION = LOCAL_REGION_NAME;

export interface DataDirCredentials {
  dataDir: string;
  credentials: StackCredentials;
  auth: LocalAuth;
}

/** The data directory's credentials (created on first use); a fresh temp directory when none is given. */
export function dataDirCredentials(dataDir = mkdtempSync(join(tmpdir(), 'st-creds-'))): DataDirCredentials {
  const credentials = loadOrCreateCredentials(dataDir);
  return { dataDir, credentials, auth: { credentials: { ...credentials }, region: TEST_REGION } };
}

/**
 * The environment for the official AWS CLI (`/usr/bin/aws`, and Debian's boto3) to sign with `credentials` and
 * nothing else: HOME is `home`, the config and credentials files point at nothing there, and no pager runs.
 */
export function awsCliEnv(
  home: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region = TEST_REGION,
): Record<string, string> {
  return {
    PATH: '/usr/bin:/bin',
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'none'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_PAGER: '',
  };
}
