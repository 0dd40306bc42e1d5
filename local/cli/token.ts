/**
 * `secure-transcode token <assetId> [--ttl S] [--uses N] [--viewer V] [--json] [--data-dir D]`
 *
 * Issues a playback token for an asset of a running local stack. It signs with the stack's 0600 secret file
 * directly (being able to read that file is the local equivalent of the IAM permission on `POST /tokens`), and
 * reads the asset record through the stack's S3 endpoint from `<data-dir>/endpoints.json`.
 */

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { ssm } from '../../lib/clients.js';
import { PlaybackDeniedError } from '../../lib/playback/errors.js';
import { type IssuedPlayback, TokenIssuer } from '../../lib/playback/issuer.js';
import { loadTokenSecret } from '../../lib/playback/secret.js';
import { TOKEN_SECRET_FILE_NAME } from '../playback/server.js';

export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const DEFAULT_DATA_DIR = '.secure-transcode';
const DEFAULT_TTL_SECONDS = 600;

/** The part of `<data-dir>/endpoints.json` the playback commands read. */
const EndpointsFileSchema = z.object({
  region: z.string().default('us-east-1'),
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }),
  endpoints: z.object({ s3: z.string().url(), keyService: z.string().url() }),
  bucket: z.string().min(1),
  player: z.string().url().optional(),
  assetPrefix: z.string().optional(),
});
export type EndpointsFile = z.infer<typeof EndpointsFileSchema>;

export class CliError extends Error {
  override readonly name = 'CliError';
}

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
    throw new CliError(`${flag} must be a positive whole number, got "${value}"`);
  return n;
};

export function parsePlaybackArgs(argv: string[], command: string): PlaybackCommandOptions {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ttl: { type: 'string' },
      uses: { type: 'string' },
      viewer: { type: 'string' },
      json: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
    },
  });
  const [assetId, ...extra] = positionals;
  if (!assetId || extra.length) {
    throw new CliError(
      `Usage: secure-transcode ${command} <assetId> [--ttl S] [--uses N] [--viewer V] [--json] [--data-dir D]`,
    );
  }
  return {
    assetId,
    ttlSeconds: positiveInt('--ttl', values.ttl, DEFAULT_TTL_SECONDS),
    maxUses: positiveInt('--uses', values.uses, 1),
    viewerId: values.viewer,
    json: values.json ?? false,
    dataDir: resolve(values['data-dir'] ?? DEFAULT_DATA_DIR),
  };
}

/** Issues a token against the stack in `options.dataDir`; the returned URLs point at its key service. */
export async function issueLocalPlayback(
  options: PlaybackCommandOptions,
): Promise<{ issued: IssuedPlayback; endpoints: EndpointsFile }> {
  const endpoints = await readEndpoints(options.dataDir);
  const secretPath = join(options.dataDir, TOKEN_SECRET_FILE_NAME);
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

/** Runs a playback command, turning CliError into a message and exit code 1. */
export async function runCli(io: CliIo, body: () => Promise<void>): Promise<number> {
  try {
    await body();
    return 0;
  } catch (e) {
    if (
      !(e instanceof CliError) &&
      !(e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
    ) {
      throw e;
    }
    io.stderr.write(`secure-transcode: ${e.message}\n`);
    return 1;
  }
}

export function runTokenCommand(argv: string[], io: CliIo): Promise<number> {
  return runCli(io, async () => {
    const options = parsePlaybackArgs(argv, 'token');
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
