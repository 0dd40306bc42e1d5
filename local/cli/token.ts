/**
 * `secure-transcode token <assetId> [--ttl S] [--uses N] [--viewer V] [--json] [--data-dir D]`
 *
 * Issues a playback token for an asset of a running local stack. It signs with the stack's 0600 secret file
 * directly (being able to read that file is the local equivalent of the IAM permission on `POST /tokens`), and
 * reads the asset record through the stack's S3 endpoint from `<data-dir>/endpoints.json`.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { ssm } from '../../lib/clients.js';
import { PlaybackDeniedError } from '../../lib/playback/errors.js';
import { type IssuedPlayback, TokenIssuer } from '../../lib/playback/issuer.js';
import { loadTokenSecret } from '../../lib/playback/secret.js';
import { TOKEN_SECRET_FILE_NAME } from '../playback/index.js';
import { checkPrivateDataDir, checkPrivateFile } from '../private-dir.js';
import { asCommandError, type CliIo, CommandError, dataDirFrom, parseCliArgs, UsageError } from './common.js';

export type { CliIo } from './common.js';

const DEFAULT_TTL_SECONDS = 600;

const PLAYBACK_OPTIONS = `Options:
  --ttl SECONDS    token lifetime (default ${DEFAULT_TTL_SECONDS})
  --uses N         key fetches the token allows (default 1)
  --viewer ID      bind the token to a viewer id
  --data-dir DIR   state directory of the running stack (default ./.secure-transcode/)
  -h, --help       show this help`;

export const TOKEN_USAGE = `Usage: secure-transcode token <assetId> [options]

Issues a playback token for an asset of the running local stack (\`up\` or \`run --serve\`) and prints it with its
expiry, the key URL, the playlist URL and a player URL.

${PLAYBACK_OPTIONS}
  --json           print JSON instead of lines`;

export const PLAY_USAGE = `Usage: secure-transcode play <assetId> [options]

Prints a player URL with a fresh token for an asset of the running local stack (\`up\` or \`run --serve\`).

${PLAYBACK_OPTIONS}`;

/** The part of `<data-dir>/endpoints.json` the playback commands read. */
const EndpointsFileSchema = z.object({
  region: z.string().default('us-east-1'),
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }),
  endpoints: z.object({ s3: z.string().url(), keyService: z.string().url() }),
  bucket: z.string().min(1),
  player: z.string().url().optional(),
  assetPrefix: z.string().optional(),
  tokenSecretFile: z.string().optional(),
});
export type EndpointsFile = z.infer<typeof EndpointsFileSchema>;

/** Problems the user can fix: printed without a stack trace, exit code 1. */
export const CliError = CommandError;

export async function readEndpoints(dataDir: string): Promise<EndpointsFile> {
  const path = join(dataDir, 'endpoints.json');
  const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') {
      throw new CliError(
        `No running stack found: ${path} is missing. Start one with \`secure-transcode up\`.`,
      );
    }
    throw e;
  });
  const parsed = EndpointsFileSchema.safeParse(JSON.parse(text));
  if (!parsed.success)
    throw new CliError(`${path} is not a stack endpoints file: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function playerUrlFor(endpoints: EndpointsFile, assetId: string, token: string): string {
  const base = endpoints.player ?? `${endpoints.endpoints.keyService.replace(/\/+$/, '')}/player/`;
  const url = new URL(base);
  url.searchParams.set('asset', assetId);
  url.searchParams.set('token', token);
  return url.toString();
}

export interface PlaybackCommandOptions {
  assetId: string;
  ttlSeconds: number;
  maxUses: number;
  viewerId: string | undefined;
  json: boolean;
  dataDir: string;
}

const positiveInt = (flag: string, value: string | undefined, fallback: number) => {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
};

/** Parsed options, or `undefined` when `--help` was asked for (the usage is then already printed). */
export function parsePlaybackArgs(
  argv: string[],
  command: 'token' | 'play',
  io?: CliIo,
): PlaybackCommandOptions | undefined {
  const { values, positionals } = parseCliArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ttl: { type: 'string' },
      uses: { type: 'string' },
      viewer: { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io?.stdout.write(`${command === 'token' ? TOKEN_USAGE : PLAY_USAGE}\n`);
    return undefined;
  }
  const [assetId, ...extra] = positionals;
  if (!assetId)
    throw new UsageError('missing <assetId> (the asset id is in the notification and in `status`)');
  if (extra.length) throw new UsageError(`unexpected argument(s): ${extra.join(' ')}`);
  return {
    assetId,
    ttlSeconds: positiveInt('--ttl', values.ttl, DEFAULT_TTL_SECONDS),
    maxUses: positiveInt('--uses', values.uses, 1),
    viewerId: values.viewer,
    json: values.json ?? false,
    dataDir: dataDirFrom(values['data-dir']),
  };
}

/**
 * The key service's 0600 secret: the path the running stack announces in endpoints.json, else where `startStack`
 * keeps it (`<data-dir>/playback/`), else a key service started directly on the data directory.
 */
export function tokenSecretPath(dataDir: string, endpoints: EndpointsFile): string {
  if (endpoints.tokenSecretFile) return endpoints.tokenSecretFile;
  const stackPath = join(dataDir, 'playback', TOKEN_SECRET_FILE_NAME);
  return existsSync(stackPath) ? stackPath : join(dataDir, TOKEN_SECRET_FILE_NAME);
}

/** Issues a token against the stack in `options.dataDir`; the returned URLs point at its key service. */
export async function issueLocalPlayback(
  options: PlaybackCommandOptions,
): Promise<{ issued: IssuedPlayback; endpoints: EndpointsFile }> {
  // endpoints.json and the secret decide which keys sign: refused when another user could have written them.
  const dataDir = asCommandError(() => checkPrivateDataDir(options.dataDir));
  const endpoints = await readEndpoints(dataDir);
  const secretPath = tokenSecretPath(dataDir, endpoints);
  asCommandError(() => checkPrivateFile(secretPath));
  const secret = await loadTokenSecret({ kind: 'file', path: secretPath }, ssm).catch(
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT')
        throw new CliError(`${secretPath} is missing: the stack's key service has not started yet.`);
      throw e;
    },
  );
  const s3 = new S3Client({
    region: endpoints.region,
    credentials: endpoints.credentials,
    endpoint: endpoints.endpoints.s3,
    forcePathStyle: true,
  });
  try {
    const issuer = new TokenIssuer({
      secret,
      s3,
      bucket: endpoints.bucket,
      assetPrefix: endpoints.assetPrefix ?? 'assets/',
      defaults: { ttlSeconds: options.ttlSeconds, maxUses: options.maxUses },
    });
    const issued = await issuer
      .issue({
        assetId: options.assetId,
        baseUrl: endpoints.endpoints.keyService.replace(/\/+$/, ''),
        ...(options.viewerId === undefined ? {} : { viewerId: options.viewerId }),
      })
      .catch((e: unknown) => {
        if (e instanceof PlaybackDeniedError) {
          throw new CliError(
            `Asset ${options.assetId} not found (no asset record in bucket ${endpoints.bucket}).`,
          );
        }
        throw e;
      });
    return { issued, endpoints };
  } finally {
    s3.destroy();
  }
}

/**
 * Runs a playback command called directly (tests, scripts): the same messages and exit codes as through `main` —
 * 2 with a hint for a usage error, 1 for a problem the user can fix.
 */
export async function runCli(io: CliIo, command: string, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(
        `secure-transcode ${command}: ${e.message}\nRun \`secure-transcode ${command} --help\` for usage.\n`,
      );
      return 2;
    }
    if (!(e instanceof CommandError)) throw e;
    io.stderr.write(`secure-transcode ${command}: ${e.message}\n`);
    return 1;
  }
}

export function runTokenCommand(argv: string[], io: CliIo): Promise<number> {
  return runCli(io, 'token', async () => {
    const options = parsePlaybackArgs(argv, 'token', io);
    if (!options) return;
    const { issued, endpoints } = await issueLocalPlayback(options);
    const player = playerUrlFor(endpoints, options.assetId, issued.token);
    if (options.json) {
      io.stdout.write(`${JSON.stringify({ ...issued, playerUrl: player })}\n`);
      return;
    }
    io.stdout.write(
      [
        `token      ${issued.token}`,
        `expires    ${issued.expiresAt}  (uses: ${options.maxUses})`,
        `key URL    ${issued.keyUrl}`,
        `playlist   ${issued.playUrl}`,
        `player     ${player}`,
        '',
      ].join('\n'),
    );
  });
}
