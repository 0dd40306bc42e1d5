/**
 * Resolves Task states to handler modules the way the deployed stack wires them: the ASL names a function key
 * (`{"Fn::GetAtt": ["<key>", "Arn"]}`), serverless.yml maps that key to `handler: <file>.<export>` and `timeout`.
 * Keeping this indirection (instead of a hand-written table) means the local run cannot drift from the deployment.
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

type AslState = {
  Type?: string;
  Resource?: unknown;
  Branches?: AslMachine[];
  ItemProcessor?: AslMachine;
  Iterator?: AslMachine;
};
export interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
  [other: string]: unknown;
}

/** The function key a Task's Resource points at: `Fn::GetAtt`, `Ref`, or a Lambda ARN / name ending in the key. */
export function functionKeyOf(resource: unknown, catalog: FunctionCatalog): string | undefined {
  if (resource && typeof resource === 'object') {
    const r = resource as Record<string, unknown>;
    const getAtt = r['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
    if (typeof getAtt === 'string') return getAtt.split('.')[0];
    if (typeof r.Ref === 'string') return r.Ref;
    return undefined;
  }
  if (typeof resource !== 'string') return undefined;
  const name = resource.split(':function:')[1]?.split(':')[0] ?? resource;
  if (catalog.has(name)) return name;
  // Deployed names are `<service>-<stage>-<key>`.
  return [...catalog.keys()].find((key) => name.endsWith(`-${key}`));
}

/**
 * Maps every Task state name (including those nested in Parallel/Map) to its function key.
 * aws-local-stepfunctions overrides Tasks by state name, so names must be unique across the whole definition.
 */
export function resolveTaskFunctions(
  definition: AslMachine,
  catalog: FunctionCatalog,
): Map<string, FunctionSpec> {
  const tasks = new Map<string, FunctionSpec>();
  const problems: string[] = [];
  const walk = (machine: AslMachine) => {
    for (const [stateName, state] of Object.entries(machine.States)) {
      if (state.Type === 'Task') {
        const key = functionKeyOf(state.Resource, catalog);
        const spec = key === undefined ? undefined : catalog.get(key);
        if (!spec) problems.push(`${stateName} → ${key ?? JSON.stringify(state.Resource)}`);
        else tasks.set(stateName, spec);
      }
      for (const branch of state.Branches ?? []) walk(branch);
      if (state.ItemProcessor) walk(state.ItemProcessor);
      if (state.Iterator) walk(state.Iterator);
    }
  };
  walk(definition);
  if (problems.length > 0) {
    throw new Error(`Task states without a function in serverless.yml: ${problems.join(', ')}`);
  }
  return tasks;
}
