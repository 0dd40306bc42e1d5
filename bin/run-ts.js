#!/usr/bin/env node
// Runs a TypeScript entry point through tsx's ESM loader, so scripts need no build step; on the project's pinned
// Node 22 whichever Node started it (project-node.js).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { onProjectNode } from './project-node.js';

if (onProjectNode()) {
  const [entry, ...rest] = process.argv.slice(2);
  if (!entry) {
    console.error('usage: run-ts <file.ts> [args…]');
    process.exit(2);
  }
  const { register } = await import('tsx/esm/api');
  register();
  process.argv = [process.argv[0] ?? 'node', resolve(entry), ...rest];
  await import(pathToFileURL(resolve(entry)).href);
}
