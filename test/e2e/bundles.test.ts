/**
 * The deployed bundles, run locally: a runtime started with
 * `WAYPOST_BUNDLES=1` builds every function with CDK's esbuild settings
 * (once, at start) and runs those bundles instead of the TypeScript
 * handlers. A smoke of the e2e tier over them: connect, subscribe,
 * checkpoint, the push (the bundled fan-out, over the SigV4-checked HTTP
 * `@connections` API), and an HTTP GET.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueTenant, WsClient, type Cast } from '../support/client';
import { spawnRuntime, type SpawnedRuntime } from '../support/spawn-runtime';

const secret = 'bundles-e2e-secret';
let runtime: SpawnedRuntime;
let cast: Cast;
const open: WsClient[] = [];

beforeAll(async () => {
  runtime = await spawnRuntime({ WAYPOST_IN_MEMORY: '1', WAYPOST_JWT_SECRET: secret, WAYPOST_BUNDLES: '1' });
  cast = await castOf(secret, uniqueTenant('bundles'));
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await runtime?.stop();
});
async function connect(token: string): Promise<WsClient> {
  const c = await WsClient.connect(runtime.url, token);
  open.push(c);
  return c;
}

describe('the local runtime on the deployed bundles (WAYPOST_BUNDLES=1)', () => {
  it('says it runs them', () => {
    expect(runtime.output()).toMatch(/Handlers {3}the deployed esbuild bundles, built in \S+waypost-bundles-/);
  });

  it('connects, subscribes, takes a checkpoint, pushes it, and answers HTTP', async () => {
    const orderId = await orderFor(runtime.url, cast);
    const retailer = await connect(cast.retailer);
    const driver = await connect(cast.driver);
    expect(await retailer.request({ action: 'subscribe', room: `order:${orderId}` })).toMatchObject({ type: 'ack', headSeq: 2 });

    const ack = await driver.request(checkpoint(orderId, 'picked_up'));
    expect(ack).toMatchObject({ type: 'ack', orderId, seq: 3, status: 'picked_up', duplicate: false });
    expect(await retailer.waitForEvent(`order:${orderId}`, (e) => e.seq === 3)).toMatchObject({ orderId, kind: 'checkpoint', status: 'picked_up' });

    const got = await http<{ order: { orderId: string; status: string; headSeq: number } }>(runtime.url, 'GET', `/api/orders/${orderId}`, { token: cast.retailer });
    expect(got.status).toBe(200);
    expect(got.body.order).toMatchObject({ orderId, status: 'picked_up', headSeq: 3 });
  });
});
