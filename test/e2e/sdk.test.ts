/**
 * The client SDK against the running runtime: a subscriber whose connection
 * is killed server-side mid-stream still sees every event once, in order; an
 * outbox filled while disconnected (or before a reload) is delivered once
 * each, in order, after reconnecting.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { OrderEvent } from '../../shared/domain/model';
import { WaypostClient, WaypostRequestError, type WebSocketLike } from '../../web/sdk/client';
import type { KeyValueStorage } from '../../web/sdk/outbox';
import { castOf, checkpoint, http, orderFor, uniqueTenant, WsClient, type Cast } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
let cast: Cast;
const clients: WaypostClient[] = [];
const sockets: WsClient[] = [];

/** A Node `ws` socket with a user agent we can find the server-side connection by. */
function nodeSocket(userAgent: string) {
  return (u: string) => new WebSocket(u, { headers: { 'user-agent': userAgent } }) as unknown as WebSocketLike;
}

function sdk(token: string, userAgent = `sdk-${randomUUID()}`, storage?: KeyValueStorage) {
  const client = new WaypostClient({
    baseUrl: url,
    token,
    webSocket: nodeSocket(userAgent),
    backoff: { initialMs: 50, maxMs: 400 },
    ...(storage && { storage, outboxKey: 'outbox' }),
  });
  clients.push(client);
  return { client, userAgent };
}

/** Kill a connection from the server side, through API Gateway's own `DELETE @connections/{id}`. */
async function killServerSide(userAgent: string) {
  const list = await http<{ connectionId: string; userAgent: string }[]>(url, 'GET', '/_local/connections');
  const mine = list.body.filter((c) => c.userAgent === userAgent);
  expect(mine).toHaveLength(1);
  const res = await fetch(`${url}/@connections/${encodeURIComponent(mine[0]!.connectionId)}`, { method: 'DELETE' });
  expect(res.status).toBe(204);
}

class MemoryStorage implements KeyValueStorage {
  readonly map = new Map<string, string>();
  getItem(k: string) {
    return this.map.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.map.set(k, v);
  }
}

beforeAll(async () => {
  cast = await castOf(secret, uniqueTenant('sdk'));
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});

describe('client SDK', () => {
  it('delivers every event once and in order across a server-side kill mid-stream', async () => {
    const orderId = await orderFor(url, cast);
    const { client, userAgent } = sdk(cast.retailer);
    const seen: number[] = [];
    client.subscribe(`order:${orderId}`, { onEvent: (e: OrderEvent) => seen.push(e.seq) }, 0);
    await client.connect();

    const driver = await WsClient.connect(url, cast.driver);
    sockets.push(driver);
    let killed = false;
    for (let i = 0; i < 60; i++) {
      const frame =
        i % 2 === 0 ? checkpoint(orderId, 'picked_up', { note: `n${i}` }) : { action: 'message', messageId: `m-${orderId}-${i}`, orderId, text: `t${i}` };
      expect(await driver.request(frame)).toMatchObject({ type: 'ack' });
      if (!killed && seen.length >= 15) {
        killed = true;
        await killServerSide(userAgent);
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(killed).toBe(true);
    const deadline = Date.now() + 15_000;
    while (seen.length < 62 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(seen).toEqual(Array.from({ length: 62 }, (_, i) => i + 1));
  });

  it('queues posts while disconnected and delivers each once, in order, on reconnect', async () => {
    const orderId = await orderFor(url, cast);
    const { client } = sdk(cast.driver);
    await client.connect();
    expect(await client.checkpoint({ orderId, status: 'picked_up', occurredAt: new Date().toISOString() })).toMatchObject({ seq: 3 });
    client.close();

    const queued = [
      client.checkpoint({ orderId, status: 'at_hub', occurredAt: new Date().toISOString(), note: 'offline 1' }),
      client.message({ orderId, text: 'offline 2' }),
      client.checkpoint({ orderId, status: 'out_for_delivery', occurredAt: new Date().toISOString() }),
    ];
    expect(client.queued.map((q) => q.kind)).toEqual(['checkpoint', 'message', 'checkpoint']);
    await client.connect();
    const acks = await Promise.all(queued);
    expect(acks.map((a) => a.seq)).toEqual([4, 5, 6]);
    expect(acks.every((a) => a.duplicate === false)).toBe(true);
    expect(client.queued).toEqual([]);
    const timeline = await http<{ items: OrderEvent[] }>(url, 'GET', `/api/orders/${orderId}/timeline`, { token: cast.driver });
    expect(timeline.body.items.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('keeps the outbox across a reload and resolves a replay by its duplicate ack', async () => {
    const orderId = await orderFor(url, cast);
    const storage = new MemoryStorage();
    const before = sdk(cast.driver, undefined, storage).client;
    await before.connect();
    const post = { orderId, status: 'picked_up' as const, occurredAt: new Date().toISOString(), eventId: `${orderId}-e1` };
    const first = await before.checkpoint(post);
    before.close();
    // The same post queued again (its ack was lost, say): a replay of the same request.
    void before.checkpoint(post).catch(() => undefined);
    void before.message({ orderId, text: 'from before the reload', messageId: `${orderId}-m1` }).catch(() => undefined);

    // "Reload": a new client on the same storage finds both and sends them.
    const after = sdk(cast.driver, undefined, storage).client;
    expect(after.queued.map((q) => q.id)).toEqual([`${orderId}-e1`, `${orderId}-m1`]);
    const delivered: { id: string; duplicate: unknown; seq: unknown }[] = [];
    after.on('delivered', ({ item, ack }) => delivered.push({ id: item.id, duplicate: ack.duplicate, seq: ack.seq }));
    await after.connect();
    const deadline = Date.now() + 10_000;
    while (delivered.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(delivered).toEqual([
      { id: `${orderId}-e1`, duplicate: true, seq: first.seq },
      { id: `${orderId}-m1`, duplicate: false, seq: first.seq + 1 },
    ]);
    expect(JSON.parse(storage.map.get('outbox') ?? '[]')).toEqual([]);
  });

  it('refuses a bad post before it is queued, and rejects one the server refuses', async () => {
    const orderId = await orderFor(url, cast);
    const { client } = sdk(cast.driver);
    await client.connect();
    expect(() => client.checkpoint({ orderId, status: 'delivered', occurredAt: 'yesterday' } as never)).toThrow(/occurredAt|proof/);
    expect(client.queued).toEqual([]);
    const refused = client.checkpoint({ orderId, status: 'in_transit', occurredAt: new Date().toISOString() });
    await expect(refused).rejects.toBeInstanceOf(WaypostRequestError);
    await expect(refused).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    expect(client.queued).toEqual([]);
  });
});
