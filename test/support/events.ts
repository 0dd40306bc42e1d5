import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Loads a fixture from `events/` and returns a fresh deep copy, so tests can mutate it freely. */
export function loadEvent<T = unknown>(relativePath: string): T {
  return structuredClone(JSON.parse(readFileSync(join(root, 'events', relativePath), 'utf8')) as T);
}

export const projectRoot = root;
