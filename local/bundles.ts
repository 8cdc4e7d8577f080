/**
 * `WAYPOST_BUNDLES=1`: the local runtime runs the very esbuild bundles CDK
 * deploys instead of importing the TypeScript handlers. Each function is
 * built once per start with the stack's own settings (`BUNDLE` in
 * lib/app-function.ts, as test/infra/bundles.test.ts builds them) into a
 * temporary folder, and its `handler` export is imported from there.
 *
 * A bundle is a Lambda of its own: it reads its config from the environment
 * and builds its own AWS clients, so the runtime sets the environment a
 * Lambda would get (`applyLambdaEnvironment`), and pushes go over HTTP to the
 * gateway's SigV4-checked `@connections` API, as in AWS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE, bundleBuildOptions, FUNCTION_NAMES, handlerEntry, type FunctionName } from '../lib/app-function';
import type { LocalCredentials } from './credentials';

/** The bundles of one start: each function's `handler` export, and where they were built. */
export interface LoadedBundles {
  readonly dir: string;
  /** The `handler` export of `functions/<name>`'s bundle. */
  readonly handlers: Readonly<Record<FunctionName, (event: never, context: never) => unknown>>;
  /** Delete the folder. */
  remove(): void;
}

/**
 * Build every function's bundle (in parallel, about 60 ms a function) with
 * CDK's esbuild settings and import each.
 *
 * @throws Error naming the function whose bundle has no `handler` function.
 */
export async function loadBundles(): Promise<LoadedBundles> {
  const dir = mkdtempSync(join(tmpdir(), 'waypost-bundles-'));
  try {
    const entries = await Promise.all(
      FUNCTION_NAMES.map(async (name) => {
        const outfile = join(dir, name, BUNDLE.outfile);
        await build(bundleBuildOptions(handlerEntry(name), outfile));
        const mod = (await import(pathToFileURL(outfile).href)) as { handler?: unknown };
        const handler = mod.handler;
        if (typeof handler !== 'function') throw new Error(`The ${name} bundle exports no handler()`);
        return [name, handler as (event: never, context: never) => unknown] as const;
      }),
    );
    return {
      dir,
      handlers: Object.fromEntries(entries) as LoadedBundles['handlers'],
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Set the environment a Lambda of this runtime would get: its variables
 * (unset where `undefined`), and the runtime's credentials for the SDK's
 * default chain (a session token or profile of the shell would override
 * them, so they go). The bundles read it on first use.
 */
export function applyLambdaEnvironment(env: Record<string, string | undefined>, credentials: LocalCredentials): void {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}
