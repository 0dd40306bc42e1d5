#!/usr/bin/env node
// Runs a TypeScript entry point through tsx's ESM loader, so scripts need no build step.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts <file.ts> [args…]');
  process.exit(2);
}
register();
process.argv = [process.argv[0] ?? 'node', resolve(entry), ...rest];
await import(pathToFileURL(resolve(entry)).href);
