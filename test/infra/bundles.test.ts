/**
 * Every function bundles with esbuild exactly as AppFunction bundles it, and
 * the bundle loads in a bare Node process: no AWS credentials, no Waypost
 * settings, and any attempt to reach the network fails the load (handlers
 * read their config and build their clients on first use, not on import).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE, bundleBuildOptions, FUNCTION_NAMES, handlerEntry, type FunctionName } from '../../lib/app-function';

const run = promisify(execFile);
let dir: string;
let offline: string;

/** Preloaded into the child: any socket, DNS lookup or fetch is an error. */
const OFFLINE = `
import dns from 'node:dns';
import net from 'node:net';
const refuse = (what) => () => { process.exitCode = 3; throw new Error('network used while loading: ' + what); };
net.Socket.prototype.connect = refuse('net.connect');
dns.lookup = refuse('dns.lookup');
dns.promises.lookup = refuse('dns.promises.lookup');
globalThis.fetch = refuse('fetch');
`;

const bundlePath = (name: FunctionName) => join(dir, name, BUNDLE.outfile);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'waypost-bundles-'));
  offline = join(dir, 'offline.mjs');
  writeFileSync(offline, OFFLINE);
  await Promise.all(
    FUNCTION_NAMES.map((name) =>
      build(bundleBuildOptions(handlerEntry(name), bundlePath(name))),
    ),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment without credentials, region or Waypost settings. */
function bareEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|WAYPOST_)/.test(k)));
}

describe('function bundles', () => {
  it.each(FUNCTION_NAMES)('%s bundles to one ESM file with its source map', (name) => {
    expect(existsSync(bundlePath(name))).toBe(true);
    expect(existsSync(`${bundlePath(name)}.map`)).toBe(true);
  });

  it.each(FUNCTION_NAMES)('%s loads in Node without credentials or network and exports handler()', async (name) => {
    const url = pathToFileURL(bundlePath(name)).href;
    const probe = `import(${JSON.stringify(url)}).then((m) => { if (typeof m.handler !== 'function') { console.error('no handler export'); process.exit(2); } }, (e) => { console.error(e); process.exit(1); })`;
    const { stderr } = await run(process.execPath, ['--enable-source-maps', '--import', pathToFileURL(offline).href, '-e', probe], {
      env: bareEnv(),
      cwd: dir,
      timeout: 20_000,
    });
    expect(stderr).toBe('');
  });
});
