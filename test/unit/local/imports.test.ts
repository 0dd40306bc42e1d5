import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layout of `local/` as docs/ARCHITECTURE.md states it: a folder another one imports exposes what it offers
 * through its `index.ts`, nothing reaches past it, and imports between folders form no cycle.
 */
const LOCAL = resolve('local');

// Deep imports not yet routed through an index.ts; each entry must still occur, so a fixed one is removed.
const KNOWN_DEEP_IMPORTS = new Set(['s3/xml.ts -> http/errors.ts']);

const SPECIFIER =
  /(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

interface CrossImport {
  from: string;
  to: string;
  fromFolder: string;
  toFolder: string;
}

/** Every import from one `local/` folder into another (top-level files such as `faults.ts` are folder `.`). */
function crossImports(): CrossImport[] {
  const folderOf = (path: string) => (path.includes('/') ? (path.split('/')[0] ?? '.') : '.');
  return sourceFiles(LOCAL).flatMap((file) => {
    const from = relative(LOCAL, file);
    return [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].flatMap((m) => {
      const target = resolve(dirname(file), m[1] ?? m[2] ?? '');
      const to = relative(LOCAL, target).replace(/\.js$/, '.ts');
      if (to.startsWith('..') || folderOf(from) === folderOf(to)) return [];
      return [{ from, to, fromFolder: folderOf(from), toFolder: folderOf(to) }];
    });
  });
}

function cycles(edges: Map<string, Set<string>>): string[] {
  const found: string[] = [];
  const done = new Set<string>();
  const visit = (node: string, path: string[]) => {
    if (path.includes(node)) {
      found.push([...path.slice(path.indexOf(node)), node].join(' -> '));
      return;
    }
    if (done.has(node)) return;
    for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    done.add(node);
  };
  for (const node of edges.keys()) visit(node, []);
  return found;
}

describe('the local/ folders', () => {
  const imports = crossImports();

  it('import each other through index.ts only', () => {
    const deep = imports
      .filter((i) => i.toFolder !== '.' && !i.to.endsWith('/index.ts'))
      .map((i) => `${i.from} -> ${i.to}`);

    expect(imports.length).toBeGreaterThan(50);
    expect(deep.filter((d) => !KNOWN_DEEP_IMPORTS.has(d))).toEqual([]);
    expect([...KNOWN_DEEP_IMPORTS].filter((d) => !deep.includes(d))).toEqual([]);
  });

  it('have an index.ts wherever another folder imports them', () => {
    const imported = new Set(imports.map((i) => i.toFolder).filter((f) => f !== '.'));

    expect(imported.size).toBeGreaterThan(5);
    expect(
      [...imported].filter((f) => !sourceFiles(join(LOCAL, f)).includes(join(LOCAL, f, 'index.ts'))),
    ).toEqual([]);
  });

  it('import each other without a cycle', () => {
    const edges = new Map<string, Set<string>>();
    for (const i of imports) edges.set(i.fromFolder, (edges.get(i.fromFolder) ?? new Set()).add(i.toFolder));

    expect(edges.size).toBeGreaterThan(5);
    expect(cycles(edges)).toEqual([]);
  });
});
