import { createDefaultEsmPreset } from 'ts-jest';
import { meetsMinimum, projectNodePath } from './bin/project-node.js';

// The suites run on the project's pinned Node (npm scripts put node_modules/.bin/node first on PATH); an older Node
// lacks what the code uses (node:sqlite, Promise.withResolvers), so say so instead of failing in odd places.
if (!meetsMinimum(process.version)) {
  throw new Error(
    `The tests need Node >= 22.5 and this is ${process.version}: run them through npm (npm test, npm run test:jest -- <file>) or with ${projectNodePath()}.`,
  );
}

/** @type {import('jest').Config} */
export default {
  ...createDefaultEsmPreset({ tsconfig: 'tsconfig.json', diagnostics: false }),
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFilesAfterEnv: ['<rootDir>/test/support/matchers.ts'],
  testTimeout: 60_000,
  maxWorkers: 2,
};
