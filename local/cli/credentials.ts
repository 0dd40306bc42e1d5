/**
 * `secure-transcode credentials [--rotate] [--json] [--data-dir DIR]`
 *
 * Prints the data directory's access and secret keys as shell exports (for `eval "$(…)"` before using the AWS CLI
 * or boto3 against the stack), creating them if the directory has none. `--rotate` replaces them with new random
 * keys; a running stack keeps the keys it started with, so rotation refuses while one holds the data directory
 * (`up --rotate-credentials` rotates and starts in one step).
 */
import { LOCAL_REGION_NAME } from '../stack/index.js';
import { type CliIo, CommandError, parseCliArgs, privateDataDirFrom } from './common.js';

export const CREDENTIALS_USAGE = `Usage: secure-transcode credentials [--rotate] [--json] [--data-dir DIR]

Prints the local stack's credentials as shell exports, e.g.  eval "$(npx secure-transcode credentials)"
Every local endpoint accepts only requests signed with them. They live in <data-dir>/credentials.json (0600).
Refuses a data directory that another user owns or can write to, or could swap (see README, "Security model").

Options:
  --rotate         replace them with new random keys (the stack must be stopped; or use \`up --rotate-credentials\`)
  --json           print {"accessKeyId", "secretAccessKey", "region"} instead
  --data-dir DIR   state directory (default ./.secure-transcode/)
  -h, --help       show this help`;

/** Single-quoted for POSIX shells: the keys hold only base64/base32 characters, but quoting costs nothing. */
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function runCredentialsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCliArgs({
    args: argv,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string' },
      rotate: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.stdout.write(`${CREDENTIALS_USAGE}\n`);
    return 0;
  }
  const dataDir = privateDataDirFrom(values['data-dir'], 'create');
  const { readLock, credentialsIn } = await import('../stack/index.js');
  if (values.rotate && readLock(dataDir)) {
    throw new CommandError(
      `a stack is running on ${dataDir} (pid ${readLock(dataDir)?.pid}); stop it first, or start it with \`up --rotate-credentials\``,
    );
  }
  const c = credentialsIn(dataDir, { rotate: values.rotate });
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ ...c, region: LOCAL_REGION_NAME })}\n`);
  } else {
    io.stdout.write(
      [
        `export AWS_ACCESS_KEY_ID=${quote(c.accessKeyId)}`,
        `export AWS_SECRET_ACCESS_KEY=${quote(c.secretAccessKey)}`,
        `export AWS_DEFAULT_REGION=${LOCAL_REGION_NAME}`,
        'unset AWS_SESSION_TOKEN AWS_PROFILE',
        '',
      ].join('\n'),
    );
  }
  if (values.rotate) io.stderr.write(`New credentials written to ${dataDir}/credentials.json\n`);
  return 0;
}
