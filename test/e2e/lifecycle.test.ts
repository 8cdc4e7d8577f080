/**
 * `npm start` as a newcomer meets it: seeds a demo tenant on a fresh data dir
 * (once), prints the ready line, and stops cleanly on Ctrl-C with DynamoDB
 * Local gone too. `npm run token` prints one token and nothing else.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WaypostClient } from '../../web/sdk/client';
import { nodeWebSocket } from '../../web/sdk/socket';
import { castOf, http, uniqueTenant, WsClient } from '../support/client';
import { spawnRuntime } from '../support/spawn-runtime';

const dataDir = mkdtempSync(join(tmpdir(), 'waypost-life-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('local runtime lifecycle', () => {
  it('seeds the demo tenant once, and stops on SIGINT with DynamoDB Local', async () => {
    const first = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_SEED: '1' });
    expect(first.output()).toContain(`Waypost ready at http://127.0.0.1:${first.port}`);
    expect(first.output()).toContain('Seeded the demo tenant');
    const users = await http<{ role: string; token: string }[]>(first.url, 'GET', '/_local/demo-users');
    expect(users.body.map((u) => u.role).sort()).toEqual(['dispatcher', 'driver', 'driver', 'retailer']);
    const dana = users.body.find((u) => u.role === 'dispatcher')!.token;
    const orders = await http<{ orders: { orderId: string }[] }>(first.url, 'GET', '/api/orders', { token: dana });
    expect(orders.body.orders.length).toBeGreaterThanOrEqual(4);

    const javaPid = Number(readFileSync(join(dataDir, 'dynamodb-local.pid'), 'utf8'));
    expect(alive(javaPid)).toBe(true);
    first.child.kill('SIGINT');
    expect(await new Promise((r) => first.child.once('exit', (code) => r(code)))).toBe(0);
    expect(alive(javaPid)).toBe(false);
    expect(existsSync(join(dataDir, 'dynamodb-local.pid'))).toBe(false);

    const second = await spawnRuntime({ WAYPOST_DATA_DIR: dataDir, WAYPOST_SEED: '1' });
    expect(second.output()).not.toContain('Seeded the demo tenant');
    const again = await http<{ orders: unknown[] }>(second.url, 'GET', '/api/orders', { token: dana });
    expect(again.body.orders.length).toBe(orders.body.orders.length);
    expect(await second.stop()).toBe(0);
  });

  it('npm run token prints exactly one verifiable token', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'local/token-cli.ts', '--tenant', 'acme', '--role', 'retailer', '--sub', 'u1', '--retailer', 'r9', '--ttl', '60'],
      { cwd: resolve(import.meta.dirname, '..', '..'), env: { ...process.env, WAYPOST_JWT_SECRET: 'tok-secret' } },
    );
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const { payload } = await jwtVerify(lines[0]!, new TextEncoder().encode('tok-secret'));
    expect(payload).toMatchObject({ sub: 'u1', tenant: 'acme', role: 'retailer', retailerId: 'r9' });
    expect((payload.exp ?? 0) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60);
  });

  it('npm run token refuses a bad role with a usage line', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'local/token-cli.ts', '--tenant', 'a', '--role', 'admin', '--sub', 'x'], {
      cwd: resolve(import.meta.dirname, '..', '..'),
    });
    await expect(run).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--role must be') });
  });

  it.each([
    [['--tenant', 'a', '--role', 'retailer', '--sub', 'x'], '--retailer is required for a retailer token'],
    [['--tenant', 'a/b', '--role', 'driver', '--sub', 'x'], '--tenant must be 1-64 letters'],
  ])('npm run token %j says which flag is wrong, with the usage line, not a zod dump', async (args, said) => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'local/token-cli.ts', ...args], { cwd: resolve(import.meta.dirname, '..', '..') });
    const failure: unknown = await run.then(
      () => null,
      (err: unknown) => err,
    );
    expect(failure).toMatchObject({ code: 2 });
    const stderr = (failure as { stderr: string }).stderr;
    expect(stderr.slice(0, said.length)).toBe(said);
    expect(stderr).toContain('usage: npm run token');
    expect(stderr).not.toContain('"code"');
  });
});

describe("API Gateway's connection limits, shortened", () => {
  it('closes an idle socket after the idle time, and any socket at the hard limit', async () => {
    const rt = await spawnRuntime({ WAYPOST_IN_MEMORY: '1', WAYPOST_JWT_SECRET: 'limits', WAYPOST_WS_IDLE_SECONDS: '1', WAYPOST_WS_MAX_SECONDS: '3' });
    try {
      const cast = await castOf('limits', uniqueTenant('lim'));
      const idle = await WsClient.connect(rt.url, cast.dispatcher);
      const busy = await WsClient.connect(rt.url, cast.dispatcher);
      const busyOpenedAt = Date.now();
      // The SDK's keep-alive ping keeps a quiet client past the idle limit too.
      const sdk = new WaypostClient({
        baseUrl: rt.url,
        token: cast.dispatcher,
        webSocket: (u) => nodeWebSocket(new WebSocket(u)),
        keepAliveMs: 300,
      });
      const sdkStates: string[] = [];
      sdk.on('state', (st) => sdkStates.push(st));
      await sdk.connect();
      const started = Date.now();
      const keepBusy = setInterval(() => void busy.request({ action: 'ping' }).catch(() => undefined), 300);
      expect(await idle.closed).toBe(1001);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(busy.isOpen).toBe(true);
      // Past the SDK socket's own idle time (it opened last), before the 3 s hard limit:
      await new Promise((r) => setTimeout(r, Math.max(0, started + 2300 - Date.now())));
      expect(sdk.state).toBe('open');
      expect(sdkStates).toEqual(['connecting', 'open']);
      sdk.close();
      expect(await busy.closed).toBe(1001);
      clearInterval(keepBusy);
      // The hard limit counts from the socket's own opening (the SDK's connect above may take a while).
      expect(Date.now() - busyOpenedAt).toBeGreaterThanOrEqual(2900);
    } finally {
      await rt.stop();
    }
  });
});
