import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { projectRoot } from '../../support/events.js';

describe('statemachines/transcode.asl.json', () => {
  it('passes asl-validator', () => {
    // Act
    const out = execFileSync(
      process.execPath,
      [
        join(projectRoot, 'node_modules/asl-validator/dist/bin/asl-validator.js'),
        '--json-path',
        'statemachines/transcode.asl.json',
      ],
      { cwd: projectRoot, encoding: 'utf8' },
    );
    // Assess
    expect(out).toContain('is valid');
  });
});
