/**
 * Which AWS SDK commands a Lambda handler's code can send, read from the code itself with the TypeScript compiler:
 * every `new <X>Command(…)` of an `@aws-sdk/client-*` package in a function the handler can reach.
 *
 * Bundle-level analysis is too coarse for least privilege: esbuild keeps a whole adapter class when one method is
 * used, so PollJob's bundle holds CreateJob. Reachability is therefore followed declaration by declaration:
 * - a reference to a function, method, class or variable follows its declaration (classes: their members);
 * - a call through an interface method follows every class method of that name whose class implements the
 *   interface, since which adapter runs is a runtime choice;
 * - only the project's own sources are followed (node_modules and declaration files are not).
 * Over-approximation stays possible (a `switch` reaches all its branches) and errs towards demanding a grant.
 */
import ts from 'typescript';

export interface SdkCall {
  /** The package without its scope, e.g. `client-s3`. */
  client: string;
  /** The command class name without `Command`, e.g. `GetObject`. */
  command: string;
  /** Where the command is built, relative to the project root. */
  site: string;
  /** The command's input can carry a `VersionId` (S3 then checks the `…Version` action as well). */
  versioned: boolean;
}

const isFunctionLike = (n: ts.Node): boolean =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isArrowFunction(n) ||
  ts.isFunctionExpression(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessor(n) ||
  ts.isSetAccessor(n);

/** Interface symbol → the classes that implement it, directly or through an interface that extends it. */
function implementations(
  program: ts.Program,
  checker: ts.TypeChecker,
): Map<ts.Symbol, ts.ClassLikeDeclaration[]> {
  const byInterface = new Map<ts.Symbol, ts.ClassLikeDeclaration[]>();
  const add = (iface: ts.Symbol, cls: ts.ClassLikeDeclaration, seen: Set<ts.Symbol>) => {
    if (seen.has(iface)) return;
    seen.add(iface);
    byInterface.set(iface, [...(byInterface.get(iface) ?? []), cls]);
    for (const decl of iface.declarations ?? []) {
      if (!ts.isInterfaceDeclaration(decl)) continue;
      for (const clause of decl.heritageClauses ?? []) {
        for (const t of clause.types) {
          const base = checker.getSymbolAtLocation(t.expression);
          if (base) add(resolveAlias(checker, base), cls, seen);
        }
      }
    }
  };
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || sf.fileName.includes('/node_modules/')) continue;
    const visit = (n: ts.Node) => {
      if (ts.isClassDeclaration(n)) {
        for (const clause of n.heritageClauses ?? []) {
          if (clause.token !== ts.SyntaxKind.ImplementsKeyword) continue;
          for (const t of clause.types) {
            const iface = checker.getSymbolAtLocation(t.expression);
            if (iface) add(resolveAlias(checker, iface), n, new Set());
          }
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return byInterface;
}

function resolveAlias(checker: ts.TypeChecker, s: ts.Symbol): ts.Symbol {
  return s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
}

/** The `@aws-sdk/client-*` package a symbol was imported from, if any. */
function sdkPackageOf(checker: ts.TypeChecker, s: ts.Symbol): string | undefined {
  for (const decl of s.declarations ?? []) {
    if (!ts.isImportSpecifier(decl)) continue;
    const spec = decl.parent.parent.parent.moduleSpecifier;
    if (ts.isStringLiteral(spec) && spec.text.startsWith('@aws-sdk/client-'))
      return spec.text.slice('@aws-sdk/'.length);
  }
  const original = resolveAlias(checker, s);
  const file = original.declarations?.[0]?.getSourceFile().fileName ?? '';
  const m = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+)\//.exec(file);
  return m?.[1];
}

/** Whether the command's input can name a version: its type has `VersionId` (literal member or spread pin). */
function hasVersionId(checker: ts.TypeChecker, args: ts.NodeArray<ts.Expression> | undefined): boolean {
  const first = args?.[0];
  return first !== undefined && checker.getTypeAtLocation(first).getProperty('VersionId') !== undefined;
}

/** Every SDK command reachable from the top level of each entry file, per entry. */
export function sdkCallsReachableFrom(root: string, entries: string[]): Map<string, SdkCall[]> {
  const config = ts.getParsedCommandLineOfConfigFile(
    `${root}/tsconfig.json`,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: () => {},
    },
  );
  const program = ts.createProgram(
    entries.map((e) => `${root}/${e}`),
    config?.options ?? {},
  );
  const checker = program.getTypeChecker();
  const impls = implementations(program, checker);
  const own = (n: ts.Node) => {
    const f = n.getSourceFile();
    return !f.isDeclarationFile && !f.fileName.includes('/node_modules/');
  };
  const result = new Map<string, SdkCall[]>();
  for (const entry of entries) {
    const sf = program.getSourceFile(`${root}/${entry}`);
    if (!sf) throw new Error(`${entry} is not part of the program`);
    const calls = new Map<string, SdkCall>();
    const seen = new Set<ts.Node>();
    const queue: ts.Node[] = [sf];
    const follow = (decl: ts.Node) => {
      if (!own(decl) || seen.has(decl)) return;
      seen.add(decl);
      queue.push(decl);
    };
    const followSymbol = (symbol: ts.Symbol) => {
      const s = resolveAlias(checker, symbol);
      for (const decl of s.declarations ?? []) {
        if (ts.isMethodSignature(decl) || ts.isPropertySignature(decl)) {
          const owner = decl.parent;
          const ownerSymbol = ts.isInterfaceDeclaration(owner)
            ? checker.getSymbolAtLocation(owner.name)
            : undefined;
          for (const cls of (ownerSymbol && impls.get(ownerSymbol)) ?? []) {
            for (const m of cls.members) if (m.name?.getText() === decl.name.getText()) follow(m);
          }
        } else if (
          isFunctionLike(decl) ||
          ts.isVariableDeclaration(decl) ||
          ts.isClassDeclaration(decl) ||
          ts.isPropertyDeclaration(decl) ||
          ts.isPropertyAssignment(decl) ||
          ts.isShorthandPropertyAssignment(decl)
        ) {
          follow(decl);
        }
      }
    };
    while (queue.length > 0) {
      const node = queue.pop() as ts.Node;
      const visit = (n: ts.Node) => {
        if (ts.isNewExpression(n)) {
          const symbol = checker.getSymbolAtLocation(n.expression);
          const client = symbol && sdkPackageOf(checker, symbol);
          const name = n.expression.getText();
          if (client && name.endsWith('Command')) {
            const { line } = n.getSourceFile().getLineAndCharacterOfPosition(n.getStart());
            const site = `${n.getSourceFile().fileName.slice(root.length + 1)}:${line + 1}`;
            calls.set(site, {
              client,
              command: name.slice(0, -'Command'.length),
              site,
              versioned: hasVersionId(checker, n.arguments),
            });
          }
        }
        if (ts.isIdentifier(n) || ts.isPrivateIdentifier(n)) {
          const symbol = checker.getSymbolAtLocation(n);
          if (symbol) followSymbol(symbol);
        }
        ts.forEachChild(n, visit);
      };
      // A class is reached through its constructor and field initialisers; its methods only when referenced.
      if (ts.isClassLike(node)) {
        for (const m of node.members)
          if (ts.isConstructorDeclaration(m) || ts.isPropertyDeclaration(m)) visit(m);
      } else {
        visit(node);
      }
    }
    result.set(entry, [...calls.values()]);
  }
  return result;
}
