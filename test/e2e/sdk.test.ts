/**
 * The client SDK against the running runtime: a subscriber whose connection
 * is killed server-side mid-stream still sees every event once, in order; an
 * outbox filled while disconnected (or before a reload) is delivered once
 * each, in order, after reconnecting; with a token provider the connection
 * outlives its first token (renewed before exp, or reconnected after a 4001);
 * a `revoked` room is surfaced and not joined again.
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { OrderEvent } from '../../shared/domain/model';
import { signLocalToken } from '../../shared/runtime/auth';
import { WaypostClient, WaypostRequestError, type ConnectionState, type RoomRevoked } from '../../web/sdk/client';
import { nodeWebSocket } from '../../web/sdk/socket';
import { tokenTimes } from '../../web/sdk/token';
import type { KeyValueStorage } from '../../web/sdk/outbox';
import { castOf, checkpoint, http, orderFor, uniqueTenant, WsClient, type Cast } from '../support/client';
import { runtimeCredentials, signedFetch } from '../support/management';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
let cast: Cast;
const clients: WaypostClient[] = [];
const sockets: WsClient[] = [];

/** A Node `ws` socket with a user agent we can find the server-side connection by. */
function nodeSocket(userAgent: string) {
  return (u: string) => nodeWebSocket(new WebSocket(u, { headers: { 'user-agent': userAgent } }));
}

function sdk(token: string | (() => Promise<string>), userAgent = `sdk-${randomUUID()}`, storage?: KeyValueStorage) {
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
  const res = await signedFetch(url, runtimeCredentials(), 'DELETE', `/@connections/${encodeURIComponent(mine[0]!.connectionId)}`);
  expect(res.status).toBe(204);
}

/** A client whose every received frame is also shown to `watch`, as it came off the wire. */
function sdkWatching(token: string, watch: (frame: Record<string, unknown>) => void): WaypostClient {
  const client = new WaypostClient({
    baseUrl: url,
    token,
    webSocket: (u: string) => {
      const ws = new WebSocket(u);
      ws.on('message', (data) => watch(JSON.parse(data.toString()) as Record<string, unknown>));
      return nodeWebSocket(ws);
    },
    backoff: { initialMs: 50, maxMs: 400 },
  });
  clients.push(client);
  return client;
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

  it('replays a long offline queue paced under the rate limit: each post once, in order, never refused', async () => {
    const orderId = await orderFor(url, cast);
    let refusedForRate = 0;
    const client = sdkWatching(cast.driver, (frame) => {
      if (frame.code === 'RATE_LIMITED') refusedForRate++;
    });
    const rejected: unknown[] = [];
    client.on('rejected', (r) => rejected.push(r));
    // 130 posts: more than one burst (100), so the replay must pace itself.
    const queued = Array.from({ length: 130 }, (_, i) => client.message({ orderId, text: `queued ${i}` }));
    await client.connect();
    const acks = await Promise.all(queued);
    expect(acks.map((a) => a.seq)).toEqual(Array.from({ length: 130 }, (_, i) => i + 3));
    expect(rejected).toEqual([]);
    expect(refusedForRate).toBe(0);
    const timeline = await http<{ items: OrderEvent[] }>(url, 'GET', `/api/orders/${orderId}/timeline?limit=500`, { token: cast.driver });
    expect(timeline.body.items.filter((e) => e.kind === 'message').map((e) => (e as { text?: string }).text)).toEqual(
      Array.from({ length: 130 }, (_, i) => `queued ${i}`),
    );
  }, 60_000);

  it('joins 150 rooms asked for at once, paced under the rate limit, and gets the events of every one', async () => {
    let refusedForRate = 0;
    const joined = new Set<string>();
    const client = sdkWatching(cast.dispatcher, (frame) => {
      if (frame.code === 'RATE_LIMITED') refusedForRate++;
      if (frame.type === 'ack' && typeof frame.room === 'string' && frame.room.startsWith('retailer:')) joined.add(frame.room);
    });
    await client.connect();
    const created = new Map<string, OrderEvent>();
    const retailers = Array.from({ length: 150 }, (_, i) => `r-${i}`);
    for (const retailerId of retailers) client.subscribe(`retailer:${retailerId}`, { onEvent: (e) => created.set(retailerId, e) });
    // Every subscribe is acked, none refused, none dropped.
    await vi.waitFor(() => expect(joined.size).toBe(150), { timeout: 30_000 });
    for (const retailerId of [retailers[0]!, retailers[149]!]) {
      const res = await http(url, 'POST', '/api/orders', {
        token: cast.dispatcher,
        body: { retailerId, recipient: { name: 'Ada' }, destination: { address: '1 Test Street' } },
      });
      expect(res.status).toBe(201);
    }
    await vi.waitFor(() => expect([...created.keys()].sort()).toEqual(['r-0', 'r-149']), { timeout: 10_000 });
    expect(refusedForRate).toBe(0);
  }, 60_000);

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

  describe('with a token provider', () => {
    const expOf = (token: string) => tokenTimes(token)!.exp * 1000;
    /** Tokens of driver-1 living `ttlSeconds`, minted on each call; the last one minted is kept. */
    function provider(ttlSeconds: number) {
      const minted: string[] = [];
      const next = async () => {
        const token = await signLocalToken(secret, { tenant: cast.tenant, role: 'driver', sub: 'driver-1', ttlSeconds });
        minted.push(token);
        return token;
      };
      return { minted, next };
    }

    it('renews before exp: the same connection lives past its first token and keeps receiving', async () => {
      const orderId = await orderFor(url, cast);
      const tokens = provider(3);
      const { client, userAgent } = sdk(tokens.next);
      const states: ConnectionState[] = [];
      const renewed: number[] = [];
      client.on('state', (st) => states.push(st));
      client.on('renewed', ({ exp }) => renewed.push(exp));
      const seen: number[] = [];
      client.subscribe(`order:${orderId}`, { onEvent: (e) => seen.push(e.seq) }, 0);
      await client.connect();
      const firstExp = expOf(tokens.minted[0]!);
      const connections = async () => (await http<{ connectionId: string; userAgent: string }[]>(url, 'GET', '/_local/connections')).body.filter((c) => c.userAgent === userAgent);
      const [connection] = await connections();
      expect(connection).toBeDefined();

      await new Promise((r) => setTimeout(r, firstExp + 1500 - Date.now()));

      expect(renewed.length).toBeGreaterThanOrEqual(1);
      expect(renewed[0]! * 1000).toBe(expOf(tokens.minted[1]!));
      expect(states).toEqual(['connecting', 'open']);
      expect((await connections()).map((c) => c.connectionId)).toEqual([connection!.connectionId]);
      const dispatcher = await WsClient.connect(url, cast.dispatcher);
      sockets.push(dispatcher);
      const message = await dispatcher.request({ action: 'message', messageId: `m-${randomUUID()}`, orderId, text: 'after the first exp' });
      const deadline = Date.now() + 5_000;
      while (!seen.includes(message.seq as number) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([1, 2, message.seq]);
    });

    it('reconnects with a fresh token after the server closes at exp (4001) when renewal could not happen', async () => {
      const orderId = await orderFor(url, cast);
      // A provider that hands out the same token until it has expired: renewing early gets nothing newer.
      const tokens = provider(2);
      const lazy = async () => {
        const last = tokens.minted.at(-1);
        return last !== undefined && expOf(last) > Date.now() ? last : tokens.next();
      };
      const { client } = sdk(lazy);
      const states: ConnectionState[] = [];
      client.on('state', (st) => states.push(st));
      const seen: number[] = [];
      client.subscribe(`order:${orderId}`, { onEvent: (e) => seen.push(e.seq) }, 0);
      await client.connect();
      const firstExp = expOf(tokens.minted[0]!);

      const deadline = firstExp + 5_000;
      while (!(tokens.minted.length >= 2 && client.state === 'open') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(tokens.minted.length).toBeGreaterThanOrEqual(2);
      expect(states.slice(0, 4)).toEqual(['connecting', 'open', 'offline', 'connecting']);
      expect(client.state).toBe('open');

      const dispatcher = await WsClient.connect(url, cast.dispatcher);
      sockets.push(dispatcher);
      const posted = await dispatcher.request(checkpoint(orderId, 'picked_up'));
      const until = Date.now() + 5_000;
      while (!seen.includes(posted.seq as number) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual([1, 2, posted.seq]);
    });
  });

  it('with a plain token, stops at its expiry (4001) instead of reconnecting with a token that would be refused', async () => {
    const token = await signLocalToken(secret, { tenant: cast.tenant, role: 'driver', sub: 'driver-1', ttlSeconds: 2 });
    const { client } = sdk(token);
    const states: ConnectionState[] = [];
    const expired: (number | undefined)[] = [];
    client.on('state', (st) => states.push(st));
    client.on('expired', ({ exp }) => expired.push(exp));
    await client.connect();
    const exp = tokenTimes(token)!.exp;
    await new Promise((r) => setTimeout(r, exp * 1000 + 1000 - Date.now()));
    expect(expired).toEqual([exp]);
    expect(states).toEqual(['connecting', 'open', 'closed']);
  });

  it('surfaces revoked to the room and the client, and does not join the room again on reconnect', async () => {
    const orderId = await orderFor(url, cast);
    const room = `order:${orderId}`;
    const sent: Record<string, unknown>[] = [];
    const client = new WaypostClient({
      baseUrl: url,
      token: cast.driver,
      backoff: { initialMs: 50, maxMs: 400 },
      webSocket: (u) => {
        const socket = new WebSocket(u);
        const send = socket.send.bind(socket);
        socket.send = ((data: string) => {
          sent.push(JSON.parse(data) as Record<string, unknown>);
          send(data);
        }) as typeof socket.send;
        return nodeWebSocket(socket);
      },
    });
    clients.push(client);
    const fromRoom: RoomRevoked[] = [];
    const fromClient: RoomRevoked[] = [];
    const seen: number[] = [];
    client.subscribe(room, { onEvent: (e) => seen.push(e.seq), onRevoked: (r) => fromRoom.push(r) }, 0);
    client.on('revoked', (r) => fromClient.push(r));
    await client.connect();
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 20));

    const reassign = await http(url, 'POST', `/api/orders/${encodeURIComponent(orderId)}/assign`, { token: cast.dispatcher, body: { driverId: 'driver-2' } });
    expect(reassign.status).toBe(200);
    const deadline = Date.now() + 5_000;
    while (fromRoom.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(fromRoom).toEqual([{ room, reason: 'unassigned' }]);
    expect(fromClient).toEqual([{ room, reason: 'unassigned' }]);

    const subscribes = () => sent.filter((f) => f.action === 'subscribe' && f.room === room).length;
    expect(subscribes()).toBe(1);
    client.reconnectNow();
    while (client.state === 'open') await new Promise((r) => setTimeout(r, 10));
    await client.connect();
    expect(await client.request({ action: 'ping' })).toMatchObject({ type: 'ack' });
    expect(subscribes()).toBe(1);
    expect(fromRoom).toHaveLength(1);
    expect(seen).toEqual([1, 2]);
  });
});