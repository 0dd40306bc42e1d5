#!/usr/bin/env node
// The `secure-transcode` CLI. Sources are TypeScript; tsx compiles them on the fly so `npm install` is enough.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../local/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
