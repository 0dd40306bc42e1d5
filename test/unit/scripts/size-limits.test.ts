import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { MAX_FILE_LINES, MAX_FUNCTION_LINES, measureSizes } from '../../../scripts/size-limits.js';
import { projectRoot } from '../../support/events.js';

const scratch = mkdtempSync(join(tmpdir(), 'st-size-'));

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A function of `lines` lines in all, written in the given language. */
const longFunction = (name: string, lines: number) =>
  `function ${name}() {\n${'  void 0;\n'.repeat(lines - 2)}}\n`;

describe('size limits', () => {
  it('reports a JavaScript function over the limit and a file over the limit, with their places', () => {
    // Prepare
    mkdirSync(join(scratch, 'local', 'page'), { recursive: true });
    writeFileSync(join(scratch, 'local', 'page', 'view.js'), longFunction('view', MAX_FUNCTION_LINES + 1));
    writeFileSync(join(scratch, 'local', 'long.ts'), 'export const x = 1;\n'.repeat(MAX_FILE_LINES + 1));
    writeFileSync(join(scratch, 'local', 'fine.ts'), longFunction('fine', MAX_FUNCTION_LINES));
    // Act
    const report = measureSizes(scratch, ['local']);
    // Assess
    expect(report.overFunctions).toEqual([
      { where: 'local/page/view.js:1 view', lines: MAX_FUNCTION_LINES + 1 },
    ]);
    expect(report.overFiles).toEqual([{ where: 'local/long.ts', lines: MAX_FILE_LINES + 1 }]);
  });

  it(`keeps every function within ${MAX_FUNCTION_LINES} lines and every file within ${MAX_FILE_LINES} in lib/, local/, functions/ and bench/`, () => {
    // Act
    const report = measureSizes(projectRoot);
    // Assess
    expect(report.files.length).toBeGreaterThan(100);
    expect(report.files.some((f) => f.where.endsWith('.js'))).toBe(true);
    expect(
      [...report.overFunctions, ...report.overFiles].map((m) => `${m.where} (${m.lines} lines)`),
    ).toEqual([]);
  });
});
