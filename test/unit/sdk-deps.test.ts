/**
 * The SDK's dependency rule (ARCHITECTURE.md "Dependency rules": SDK →
 * Domain only; DESIGN-REVIEW §1.2): every `web/sdk/*.ts` imports only its own
 * files and `shared/domain`, and the domain modules it pulls in (followed
 * transitively) import only each other and `zod`. So no `node:*`, no
 * `shared/store`, `shared/services`, `shared/runtime`, `functions/`,
 * `local/`, `ws` or AWS client reaches the browser or a retailer's bundle.
 * Imports are read with TypeScript's parser (static, dynamic and `export …
 * from` alike); a domain module's type-only imports are erased at build, so
 * only its run-time ones are followed.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const sdkDir = resolve(root, 'web/sdk');
const domainDir = resolve(root, 'shared/domain');

/** A module specifier a file imports or re-exports; `typeOnly` when erased at build (`import type`, `export type … from`). */
export interface Import {
  readonly spec: string;
  readonly typeOnly: boolean;
}

/** The imports of a file: static, `export … from` and dynamic `import()`. */
export function importsOf(source: string): Import[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, true);
  const found: Import[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.importClause?.isTypeOnly === true });
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg !== undefined && ts.isStringLiteral(arg)) found.push({ spec: arg.text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** What is wrong with `spec` imported from `file`, or undefined when the rule allows it. */
export function breach(file: string, spec: string): string | undefined {
  const from = dirname(file);
  if (!spec.startsWith('.')) {
    // Packages: the domain may use zod; the SDK itself imports none.
    return from === domainDir && spec === 'zod' ? undefined : `package ${spec}`;
  }
  const target = resolve(from, spec);
  const inSdk = dirname(target) === sdkDir;
  const inDomain = dirname(target) === domainDir;
  if (from === sdkDir ? inSdk || inDomain : inDomain) return undefined;
  return relative(root, target);
}

function resolveTs(file: string, spec: string): string {
  const target = resolve(dirname(file), spec);
  return target.endsWith('.ts') ? target : `${target}.ts`;
}

/** Every breach in the SDK and the domain modules it reaches, as `file → import`. */
function breaches(): { files: string[]; found: string[] } {
  const queue = readdirSync(sdkDir)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => resolve(sdkDir, f));
  const seen = new Set<string>();
  const found: string[] = [];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const inSdk = dirname(file) === sdkDir;
    for (const { spec, typeOnly } of importsOf(readFileSync(file, 'utf8'))) {
      // The SDK's own files may not even name a type outside the rule; the domain's types cost nothing at run time.
      if (typeOnly && !inSdk) continue;
      const bad = breach(file, spec);
      if (bad !== undefined) found.push(`${relative(root, file)} → ${bad}`);
      else if (spec.startsWith('.') && !typeOnly) queue.push(resolveTs(file, spec));
    }
  }
  return { files: [...seen].map((f) => relative(root, f)).sort(), found };
}

describe('SDK dependency rule', () => {
  it('web/sdk imports only its own files and shared/domain, and those domain modules only each other and zod', () => {
    const { files, found } = breaches();
    expect(found).toEqual([]);
    expect(files).toContain('web/sdk/client.ts');
    expect(files).toContain('shared/domain/schemas.ts');
  });

  it('the rule catches what it forbids', () => {
    const sdkFile = resolve(sdkDir, 'client.ts');
    const domainFile = resolve(domainDir, 'rooms.ts');
    const forbidden = [
      'node:crypto',
      'ws',
      '@aws-sdk/client-dynamodb',
      '../../shared/store/connection-store',
      '../../shared/services/realtime-service',
      '../../shared/runtime/auth',
      '../../functions/ws/default',
      '../../local/simulate',
      '../src/api',
    ];
    for (const spec of forbidden) expect(breach(sdkFile, spec), spec).toBeDefined();
    expect(breach(sdkFile, './room')).toBeUndefined();
    expect(breach(sdkFile, '../../shared/domain/rooms')).toBeUndefined();
    expect(breach(sdkFile, 'zod')).toBeDefined();
    expect(breach(domainFile, 'zod')).toBeUndefined();
    expect(breach(domainFile, 'node:crypto')).toBeDefined();
    expect(breach(domainFile, '../store/order-store')).toBeDefined();
    expect(importsOf("import a from 'x';\nexport { b } from 'y';\nconst c = await import('z');\nimport type { D } from 'w';\nexport type { E } from 'v';")).toEqual([
      { spec: 'x', typeOnly: false },
      { spec: 'y', typeOnly: false },
      { spec: 'z', typeOnly: false },
      { spec: 'w', typeOnly: true },
      { spec: 'v', typeOnly: true },
    ]);
  });
});
