/**
 * Measures source size with the TypeScript compiler API (it parses JavaScript too): every function and every file
 * under lib/, local/, functions/ and bench/, `.ts` and `.js` alike, against the project's limits. A function's length
 * is the lines its node spans (nested closures included, since they are read as part of it).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export const SIZE_ROOTS = ['lib', 'local', 'functions', 'bench'];
export const MAX_FUNCTION_LINES = 120;
export const MAX_FILE_LINES = 450;
/** Generated output, not source: bench/results holds the benchmarks' reports. */
const SKIPPED_DIRS = new Set(['node_modules', 'results']);

export interface Measured {
  where: string;
  lines: number;
}

export interface SizeReport {
  files: Measured[];
  functions: Measured[];
  overFunctions: Measured[];
  overFiles: Measured[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return SKIPPED_DIRS.has(name) ? [] : sourceFiles(path);
    return /\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
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

/** Every file and function under the roots, longest first, and those over the limits. */
export function measureSizes(root: string, roots: readonly string[] = SIZE_ROOTS): SizeReport {
  const measured = roots.flatMap((dir) => sourceFiles(join(root, dir))).map((p) => measureFile(p, root));
  const files = measured.map((m) => m.file).sort((a, b) => b.lines - a.lines);
  const functions = measured.flatMap((m) => m.functions).sort((a, b) => b.lines - a.lines);
  return {
    files,
    functions,
    overFunctions: functions.filter((f) => f.lines > MAX_FUNCTION_LINES),
    overFiles: files.filter((f) => f.lines > MAX_FILE_LINES),
  };
}
