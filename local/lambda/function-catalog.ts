/**
 * The functions serverless.yml declares, as the deployment wires them: each key under `functions:` maps to
 * `handler: <file>.<export>`, `timeout` and `memorySize`. The local Lambda runtime, the Step Functions engine
 * (through the ASL's function keys) and the S3 → SQS → starter path all read them from here, so a local run cannot
 * drift from the deployment.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

export interface FunctionSpec {
  key: string;
  /** Absolute path of the handler module (`.ts` preferred, as tsx and ts-jest load it directly). */
  file: string;
  exportName: string;
  timeoutSeconds: number;
  memoryMb: number;
}

export type FunctionCatalog = Map<string, FunctionSpec>;

// Serverless Framework v3's defaults when neither the function nor `provider` sets them.
const DEFAULT_TIMEOUT_SECONDS = 6;
const DEFAULT_MEMORY_MB = 1024;
const MODULE_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs'];

function positiveNumber(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function resolveModuleFile(root: string, modulePath: string): string {
  const base = resolve(root, modulePath);
  for (const ext of MODULE_EXTENSIONS) {
    if (existsSync(base + ext)) return base + ext;
  }
  throw new Error(
    `Handler module ${modulePath} not found (looked for ${MODULE_EXTENSIONS.join(', ')} under ${root})`,
  );
}

/** Reads `functions:` from serverless.yml. Handler files are resolved lazily so a catalog loads before they exist. */
export function loadFunctionCatalog(serverlessPath: string): FunctionCatalog {
  if (!existsSync(serverlessPath)) throw new Error(`serverless.yml not found at ${serverlessPath}`);
  // Unknown CloudFormation tags (!GetAtt, !Ref …) only matter to the deployment; parse them as plain scalars.
  const doc = parse(readFileSync(serverlessPath, 'utf8'), { logLevel: 'error' }) as {
    provider?: { timeout?: unknown; memorySize?: unknown };
    functions?: Record<string, { handler?: unknown; timeout?: unknown; memorySize?: unknown } | null>;
  } | null;
  const root = dirname(serverlessPath);
  const catalog: FunctionCatalog = new Map();
  for (const [key, fn] of Object.entries(doc?.functions ?? {})) {
    if (!fn || typeof fn.handler !== 'string') continue;
    const dot = fn.handler.lastIndexOf('.');
    if (dot <= 0) throw new Error(`functions.${key}.handler "${fn.handler}" must look like <file>.<export>`);
    const modulePath = fn.handler.slice(0, dot);
    catalog.set(key, {
      key,
      get file() {
        return resolveModuleFile(root, modulePath);
      },
      exportName: fn.handler.slice(dot + 1),
      timeoutSeconds:
        positiveNumber(fn.timeout) ?? positiveNumber(doc?.provider?.timeout) ?? DEFAULT_TIMEOUT_SECONDS,
      memoryMb:
        positiveNumber(fn.memorySize) ?? positiveNumber(doc?.provider?.memorySize) ?? DEFAULT_MEMORY_MB,
    });
  }
  return catalog;
}
