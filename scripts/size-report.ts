/**
 * Measures source size with the TypeScript compiler API: the longest functions and the longest files under lib/,
 * local/ and functions/. A function's length is the lines its node spans (nested closures included, since they are
 * read as part of it). Prints the ten largest of each and the limits; `--check` exits 1 when a limit is exceeded.
 *   node bin/run-ts.js scripts/size-report.ts [--check] [--json]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const ROOTS = ['lib', 'local', 'functions'];
const MAX_FUNCTION_LINES = 120;
const MAX_FILE_LINES = 450;

interface Measured {
  where: string;
  lines: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function functionName(node: ts.Node, file: ts.SourceFile): string {
  const named = node as ts.Node & { name?: ts.Node };
  if (named.name) return named.name.getText(file);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(file);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(file);
  if (parent && ts.isCallExpression(parent)) return `(callback of ${parent.expression.getText(file).slice(0, 40)})`;
  return '(anonymous)';
}

function measureFile(path: string, root: string): { file: Measured; functions: Measured[] } {
  const text = readFileSync(path, 'utf8');
  const file = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
  const rel = relative(root, path);
  const functions: Measured[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = file.getLineAndCharacterOfPosition(node.getStart(file)).line;
      const end = file.getLineAndCharacterOfPosition(node.getEnd()).line;
      functions.push({ where: `${rel}:${start + 1} ${functionName(node, file)}`, lines: end - start + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return { file: { where: rel, lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0) }, functions };
}

const root = process.cwd();
const measured = ROOTS.flatMap((dir) => sourceFiles(join(root, dir))).map((p) => measureFile(p, root));
const files = measured.map((m) => m.file).sort((a, b) => b.lines - a.lines);
const functions = measured.flatMap((m) => m.functions).sort((a, b) => b.lines - a.lines);
const overFunctions = functions.filter((f) => f.lines > MAX_FUNCTION_LINES);
const overFiles = files.filter((f) => f.lines > MAX_FILE_LINES);

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ files: files.slice(0, 10), functions: functions.slice(0, 10), overFunctions, overFiles }));
} else {
  console.log(`ten longest functions (limit ${MAX_FUNCTION_LINES} lines)`);
  for (const f of functions.slice(0, 10)) console.log(`  ${String(f.lines).padStart(4)}  ${f.where}`);
  console.log(`ten longest files (limit ${MAX_FILE_LINES} lines)`);
  for (const f of files.slice(0, 10)) console.log(`  ${String(f.lines).padStart(4)}  ${f.where}`);
  console.log(
    `${overFunctions.length} function(s) over ${MAX_FUNCTION_LINES} lines, ${overFiles.length} file(s) over ${MAX_FILE_LINES} lines`,
  );
}
if (process.argv.includes('--check') && (overFunctions.length > 0 || overFiles.length > 0)) process.exit(1);
