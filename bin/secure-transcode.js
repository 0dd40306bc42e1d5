#!/usr/bin/env node
// The `secure-transcode` CLI. Sources are TypeScript; tsx compiles them on the fly so `npm install` is enough.
// It runs on the project's pinned Node 22 whichever Node started it (project-node.js).
import { onProjectNode } from './project-node.js';

if (onProjectNode()) {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import('../local/cli/main.ts');
  process.exitCode = await main(process.argv.slice(2));
}
