/**
 * Prints the ten longest functions and files under lib/, local/, functions/ and bench/ and every one over the limits
 * (scripts/size-limits.ts); `--check` exits 1 when a limit is exceeded. `npm test` runs the same check
 * (test/unit/size-limits.test.ts).
 *   node bin/run-ts.js scripts/size-report.ts [--check] [--json]
 */
import { MAX_FILE_LINES, MAX_FUNCTION_LINES, measureSizes } from './size-limits.js';

const { files, functions, overFunctions, overFiles } = measureSizes(process.cwd());

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ files: files.slice(0, 10), functions: functions.slice(0, 10), overFunctions, overFiles }));
} else {
  console.log(`ten longest functions (limit ${MAX_FUNCTION_LINES} lines)`);
  for (const f of functions.slice(0, 10)) console.log(`  ${String(f.lines).padStart(4)}  ${f.where}`);
  console.log(`ten longest files (limit ${MAX_FILE_LINES} lines)`);
  for (const f of files.slice(0, 10)) console.log(`  ${String(f.lines).padStart(4)}  ${f.where}`);
  for (const f of [...overFunctions, ...overFiles]) console.log(`  over the limit: ${f.lines} lines  ${f.where}`);
  console.log(
    `${overFunctions.length} function(s) over ${MAX_FUNCTION_LINES} lines, ${overFiles.length} file(s) over ${MAX_FILE_LINES} lines`,
  );
}
if (process.argv.includes('--check') && (overFunctions.length > 0 || overFiles.length > 0)) process.exit(1);
