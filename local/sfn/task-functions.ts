/**
 * Resolves Task states to handler modules the way the deployed stack wires them: the ASL names a function key
 * (`{"Fn::GetAtt": ["<key>", "Arn"]}`), serverless.yml maps that key to a handler (local/lambda's function catalog).
 * Keeping this indirection (instead of a hand-written table) means the local run cannot drift from the deployment.
 */
import type { FunctionCatalog, FunctionSpec } from '../lambda/index.js';

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
