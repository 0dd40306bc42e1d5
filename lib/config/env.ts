/**
 * The shared parsing helpers of the config modules: every section is a zod schema over the environment, and `load`
 * turns its first problem into `Environment variable X is required` (or `... is invalid`) at start-up, before any
 * job is touched.
 *
 * Each section (`ingest.ts`, `workflow.ts`, `transcoder.ts`, `playback.ts`) is read when its function is called:
 * handlers call it once at module scope, so a cold start fails fast and later invocations reuse the object.
 * Outside these modules only two places read process.env: lib/logger.ts (`LOG_LEVEL`, needed before any config
 * can be reported) and lib/clients.ts (the SDK's own `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, to choose
 * path-style S3 addressing on a local endpoint).
 */
import { z } from 'zod';
import { ConfigurationError } from '../errors.js';

export const csv = (s: string) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

export const prefix = z
  .string()
  .min(1)
  .transform((p) => (p.endsWith('/') ? p : `${p}/`));

/** A service's base URL without trailing slashes, so that paths are appended with exactly one `/`. */
export const baseUrl = z
  .string()
  .url()
  .transform((u) => u.replace(/\/+$/, ''));

export const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

// serverless.yml passes every parameter as an environment variable, so an unset optional one arrives as ''.
export const optionalText = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
export const optionalUrl = z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional());

export function load<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const name = String(first?.path[0] ?? 'unknown');
    const missing = first?.code === 'invalid_type' && env[name] === undefined;
    throw new ConfigurationError(
      missing
        ? `Environment variable ${name} is required`
        : `Environment variable ${name} is invalid: ${first?.message}`,
      { code: 'CONFIGURATION' },
    );
  }
  return parsed.data;
}
