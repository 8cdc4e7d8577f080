/**
 * Rights are checked on every push (CONTRACT §2), against DynamoDB Local:
 * memberships carry who holds them and until when; the fan-out tells a member
 * whose right has gone `revoked` once, never the event, and removes it (so no
 * other process tells it again); a member whose token expired gets nothing
 * and is closed and removed; a renewal that has not reached a membership yet
 * still counts. And `$default` refuses a frame from a connection whose token
 * has expired and closes it (how the cloud deletes it), unless another process
 * renewed it.
 */
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { wsDefaultHandler } from '../../functions/ws-default/handler';
import { lambdaContext } from '../../local/lambda';
import type { Principal } from '../../shared/domain/model';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { createTokenVerifier } from '../../shared/runtime/auth';
import { createLogger } from '../../shared/runtime/log';
import { FanoutService } from '../../shared/services/fanout-service';
import { OrdersService } from '../../shared/services/orders-service';
import { RealtimeService } from '../../shared/services/realtime-service';
import { DynamoConnectionStore } from '../../shared/store/connection-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import type { Notifier } from '../../shared/store/notifier';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { keys } from '../../shared/store/tables';
import { streamed as streamedEvent, streamRecordOf } from '../support/stream';
import { createTestTables, type TestTables } from '../support/tables';

const tenant = 'rights';
const retailer: Principal = { tenant, role: 'retailer', sub: 'rita', retailerId: 'r1' };
const dispatcher: Principal = { tenant, role: 'dispatcher', sub: 'dana' };
const driverA: Principal = { tenant, role: 'driver', sub: 'driver-a' };
const driverB: Principal = { tenant, role: 'driver', sub: 'driver-b' };

const nowSeconds = () => Math.floor(Date.now() / 1000);
const holding = (principal: Principal, exp = nowSeconds() + 3600) => ({ principal, exp });

/** What API Gateway's `@connections` would answer (it cannot run here): every frame pushed, every connection closed. */
class RecordingConnections implements Notifier {
  readonly frames = new Map<string, Record<string, unknown>[]>();
  readonly closed: string[] = [];
  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    if (this.closed.includes(connectionId)) return 'gone';
    this.frames.set(connectionId, [...(this.frames.get(connectionId) ?? []), JSON.parse(data) as Record<string, unknown>]);
    return 'sent';
  }
  async disconnect(connectionId: string): Promise<'closed' | 'gone'> {
    if (this.closed.includes(connectionId)) return 'gone';
    this.closed.push(connectionId);
    return 'closed';
  }
  of(connectionId: string): Record<string, unknown>[] {
    return this.frames.get(connectionId) ?? [];
  }
  eventSeqs(connectionId: string): number[] {
    return this.of(connectionId)
      .filter((f) => f.type === 'event')
      .map((f) => (f.event as { seq: number }).seq);
  }
}

let tables: TestTables;
let connections: DynamoConnectionStore;
let orderStore: DynamoOrderStore;
let orders: OrdersService;

beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
  connections = new DynamoConnectionStore(tables.doc, tables.connections);
  orderStore = new DynamoOrderStore(tables.doc, tables.orders);
  orders = new OrdersService({ orders: orderStore, policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
});

const streamed = (orderId: string, seq: number) => streamedEvent(tables.doc, tables.orders, tenant, orderId, seq);

let n = 0;
async function orderOfDriverA(): Promise<string> {
  const orderId = `rights-${++n}-${Date.now()}`;
  await orders.create(retailer, { orderId, retailerId: 'r1', recipient: { name: 'Ada' }, destination: { address: '1 Test Street' } });
  await orders.assign(dispatcher, orderId, driverA.sub);
  return orderId;
}

/** A connection of `principal` in the order's room, as subscribe leaves it. */
async function subscribed(connectionId: string, principal: Principal, orderId: string, exp?: number): Promise<void> {
  const holder = holding(principal, exp);
  await connections.put(connectionId, holder, new Date());
  await orders.joinRoom(principal, orderId, async () => {
    expect(await connections.join(connectionId, `order:${orderId}`, holder)).toBe(true);
  });
}

async function roomEpochOf(orderId: string): Promise<number> {
  const res = await tables.doc.send(
    new GetCommand({ TableName: tables.orders, Key: { pk: keys.order(tenant, orderId), sk: keys.head }, ConsistentRead: true }),
  );
  return res.Item?.roomEpoch as number;
}

describe('membership and event items carry what the rights check needs', () => {
  it("a membership item holds its principal and its token's exp, and renew moves both copies of exp", async () => {
    const orderId = await orderOfDriverA();
    const exp = nowSeconds() + 120;
    await subscribed('m1', retailer, orderId, exp);

    const item = await tables.doc.send(
      new GetCommand({ TableName: tables.connections, Key: { pk: keys.room(tenant, `order:${orderId}`), sk: keys.connection('m1') }, ConsistentRead: true }),
    );
    expect(item.Item).toMatchObject({ connectionId: 'm1', principal: retailer, exp });
    expect(await connections.memberships(tenant, `order:${orderId}`)).toEqual([
      expect.objectContaining({ connectionId: 'm1', holder: { principal: retailer, exp } }),
    ]);
    expect(await connections.get('m1')).toMatchObject({ principal: retailer, exp });

    expect(await connections.renew('m1', exp + 600)).toBe(true);
    expect(await connections.get('m1')).toMatchObject({ exp: exp + 600 });
    expect(await connections.memberships(tenant, `order:${orderId}`)).toEqual([
      expect.objectContaining({ connectionId: 'm1', holder: { principal: retailer, exp: exp + 600 } }),
    ]);
    expect(await connections.renew('nobody', exp + 600)).toBe(false);
  });

  it('a join that raced a renewal writes the renewed exp, not the one it was given', async () => {
    const exp = nowSeconds() + 120;
    await connections.put('m2', holding(dispatcher, exp), new Date());
    expect(await connections.renew('m2', exp + 900)).toBe(true);
    expect(await connections.join('m2', 'dispatch', holding(dispatcher, exp))).toBe(true);
    expect(await connections.memberships(tenant, 'dispatch')).toContainEqual(
      expect.objectContaining({ connectionId: 'm2', holder: { principal: dispatcher, exp: exp + 900 } }),
    );
  });

  it("each timeline item on the stream names the order's driver as of that event", async () => {
    const orderId = await orderOfDriverA();
    const created = await streamed(orderId, 1);
    expect(created).toMatchObject({ tenant, retailerId: 'r1', driverId: null });
    expect(await streamed(orderId, 2)).toMatchObject({ driverId: driverA.sub });
    await orders.assign(dispatcher, orderId, driverB.sub);
    // The reassignment itself already carries the new driver: the right moves with it.
    expect(await streamed(orderId, 3)).toMatchObject({ event: { kind: 'assigned', driverId: driverB.sub }, driverId: driverB.sub });
    const record = await streamRecordOf(tables.doc, tables.orders, tenant, orderId, 3);
    expect(record.dynamodb?.NewImage?.driverId).toEqual({ S: driverB.sub });
  });
});

describe('the fan-out re-checks rights on every push', () => {
  it('tells a driver reassigned away `revoked` once, never the event, removes it, and moves the room epoch on', async () => {
    const orderId = await orderOfDriverA();
    const room = `order:${orderId}`;
    await subscribed('a', driverA, orderId);
    await subscribed('shop', retailer, orderId);
    await subscribed('desk', dispatcher, orderId);
    const api = new RecordingConnections();
    const fanout = new FanoutService(connections, api, createLogger(), orderStore);
    // Another process that read the members before the reassignment, and keeps that list.
    const otherApi = new RecordingConnections();
    const other = new FanoutService(connections, otherApi, createLogger(), orderStore);
    const before = await orders.message(retailer, { action: 'message', messageId: `${orderId}-m0`, orderId, text: 'before' });
    await fanout.deliver(await streamed(orderId, before.seq));
    await other.deliver(await streamed(orderId, before.seq));
    expect(api.eventSeqs('a')).toEqual([before.seq]);

    await orders.assign(dispatcher, orderId, driverB.sub);
    const assignedSeq = before.seq + 1;
    const epochBefore = await roomEpochOf(orderId);
    await fanout.deliver(await streamed(orderId, assignedSeq));
    // The other process still holds the list with A at the epoch the reassignment was stored under.
    await other.deliver(await streamed(orderId, assignedSeq));

    expect(api.of('a').slice(1)).toEqual([{ type: 'revoked', room, reason: 'unassigned' }]);
    expect(api.eventSeqs('shop')).toEqual([before.seq, assignedSeq]);
    expect(api.eventSeqs('desk')).toEqual([before.seq, assignedSeq]);
    expect(await connections.members(tenant, room)).not.toContain('a');
    expect((await connections.get('a'))?.rooms).toEqual([]);
    expect(await roomEpochOf(orderId)).toBeGreaterThan(epochBefore);

    // What B and the others post next never reaches A, from either process, and A is told nothing twice.
    await subscribed('b', driverB, orderId);
    const message = await orders.message(dispatcher, { action: 'message', messageId: `${orderId}-m1`, orderId, text: 'to B' });
    const moved = await orders.checkpoint(driverB, {
      action: 'checkpoint',
      eventId: `${orderId}-c1`,
      orderId,
      status: 'picked_up',
      occurredAt: new Date().toISOString(),
      location: { lat: 51.5, lng: -0.12 },
    });
    for (const seq of [message.seq, moved.seq]) {
      await fanout.deliver(await streamed(orderId, seq));
      await other.deliver(await streamed(orderId, seq));
    }
    expect(api.of('a')).toHaveLength(2);
    expect(otherApi.of('a').filter((f) => f.type === 'revoked')).toEqual([]);
    expect(otherApi.eventSeqs('a')).toEqual([before.seq]);
    expect(api.eventSeqs('b')).toEqual([message.seq, moved.seq]);
    expect(api.eventSeqs('shop')).toEqual([before.seq, assignedSeq, message.seq, moved.seq]);
    expect(otherApi.eventSeqs('desk')).toEqual([before.seq, assignedSeq, message.seq, moved.seq]);
  });

  it('revokes a member by the driver on the routing item alone, even one that joined after the reassignment was decided', async () => {
    const orderId = await orderOfDriverA();
    await subscribed('late-a', driverA, orderId);
    const api = new RecordingConnections();
    const fanout = new FanoutService(connections, api, createLogger(), orderStore);
    const message = await orders.message(retailer, { action: 'message', messageId: `${orderId}-m`, orderId, text: 'hello' });
    const routed = await streamed(orderId, message.seq);
    expect(routed.driverId).toBe(driverA.sub);

    // The same stored event, as if the order had been reassigned when it was written.
    await fanout.deliver({ ...routed, driverId: driverB.sub });
    expect(api.of('late-a')).toEqual([{ type: 'revoked', room: `order:${orderId}`, reason: 'unassigned' }]);
    expect(await connections.members(tenant, `order:${orderId}`)).toEqual([]);
  });

  it('gives a member whose token expired nothing, closes its connection and removes it', async () => {
    const orderId = await orderOfDriverA();
    const room = `order:${orderId}`;
    await subscribed('live', retailer, orderId);
    const exp = nowSeconds() + 2;
    await subscribed('stale', dispatcher, orderId, exp);
    await connections.join('stale', 'dispatch', holding(dispatcher, exp));
    const api = new RecordingConnections();
    const fanout = new FanoutService(connections, api, createLogger(), orderStore);
    const first = await orders.message(retailer, { action: 'message', messageId: `${orderId}-m1`, orderId, text: 'one' });
    await fanout.deliver(await streamed(orderId, first.seq));
    expect(api.eventSeqs('stale')).toEqual([first.seq]);

    while (Date.now() < exp * 1000) await new Promise((r) => setTimeout(r, 20));
    const second = await orders.message(retailer, { action: 'message', messageId: `${orderId}-m2`, orderId, text: 'two' });
    await fanout.deliver(await streamed(orderId, second.seq));

    expect(api.eventSeqs('stale')).toEqual([first.seq]);
    expect(api.of('stale').filter((f) => f.type !== 'event')).toEqual([]);
    expect(api.closed).toEqual(['stale']);
    expect(await connections.get('stale')).toBeNull();
    expect(await connections.members(tenant, room)).toEqual(['live']);
    expect(await connections.members(tenant, 'dispatch')).not.toContain('stale');
    expect(api.eventSeqs('live')).toEqual([first.seq, second.seq]);
  });

  it('keeps pushing to a member whose connection was renewed before its membership was', async () => {
    const orderId = await orderOfDriverA();
    const exp = nowSeconds() + 1;
    await subscribed('renewing', retailer, orderId, exp);
    // `auth` moved the connection's exp; the membership still holds the old one.
    await tables.doc.send(
      new UpdateCommand({
        TableName: tables.connections,
        Key: { pk: keys.connection('renewing'), sk: keys.connectionMeta },
        UpdateExpression: 'SET #exp = :exp',
        ExpressionAttributeNames: { '#exp': 'exp' },
        ExpressionAttributeValues: { ':exp': exp + 3600 },
      }),
    );
    while (Date.now() < exp * 1000) await new Promise((r) => setTimeout(r, 20));
    const api = new RecordingConnections();
    const fanout = new FanoutService(connections, api, createLogger(), orderStore);
    const message = await orders.message(retailer, { action: 'message', messageId: `${orderId}-m`, orderId, text: 'still here' });
    await fanout.deliver(await streamed(orderId, message.seq));
    expect(api.eventSeqs('renewing')).toEqual([message.seq]);
    expect(api.closed).toEqual([]);
  });
});

describe('a frame from a connection whose token has expired', () => {
  /** `@connections` calls, in order: what was pushed to whom, and whom was closed. */
  function realtime(closed: string[], calls: string[] = []) {
    return new RealtimeService({
      orders,
      connections,
      alerts: {
        acknowledge: () => Promise.reject(new Error('not asked in these tests')),
      },
      verifyToken: createTokenVerifier({ mode: 'hs256', secret: 'rights-secret' }),
      closeConnection: async (connectionId) => {
        calls.push(`close ${connectionId}`);
        return closed.push(connectionId);
      },
      push: async (connectionId, data) => calls.push(`push ${connectionId} ${data}`),
      log: createLogger(),
    });
  }

  /** A frame through the `$default` handler over `service`: its reply, or null when none came back as the route response. */
  async function sendFrame(service: RealtimeService, connectionId: string, frame: Record<string, unknown>): Promise<Record<string, unknown> | null> {
    const handler = wsDefaultHandler({ service: () => service, log: () => createLogger() });
    const event = { requestContext: { routeKey: '$default', connectionId, eventType: 'MESSAGE' as const }, body: JSON.stringify(frame), isBase64Encoded: false };
    const result = await handler(event, lambdaContext('ws-default'));
    return result.body === undefined ? null : (JSON.parse(result.body) as Record<string, unknown>);
  }

  it('is refused with UNAUTHORIZED and the connection is closed, in a process that knew it and in one that did not', async () => {
    const exp = nowSeconds() + 2;
    const closed: string[] = [];
    const calls: string[] = [];
    const knew = realtime(closed, calls);
    await knew.connect('late-1', holding(driverA, exp));
    await connections.put('late-2', holding(driverA, exp), new Date());
    expect(await sendFrame(knew, 'late-1', { action: 'ping', reqId: 'p0' })).toMatchObject({ type: 'ack', reqId: 'p0' });

    while (Date.now() < exp * 1000) await new Promise((r) => setTimeout(r, 20));
    for (const [service, id] of [[realtime(closed, calls), 'late-2'], [knew, 'late-1']] as const) {
      // The reply goes over @connections before the close (a route response after it would be lost).
      const reply = await sendFrame(service, id, { action: 'ping', reqId: 'p1' });
      expect(reply).toBeNull();
    }
    expect(closed).toEqual(['late-2', 'late-1']);
    expect(calls.map((c) => c.split(' ', 2).join(' '))).toEqual(['push late-2', 'close late-2', 'push late-1', 'close late-1']);
    for (const i of [0, 2]) {
      expect(JSON.parse(calls[i]!.split(' ').slice(2).join(' '))).toMatchObject({ type: 'error', reqId: 'p1', code: 'UNAUTHORIZED', message: expect.stringMatching(/expired/) });
    }
  });

  it('is served when another process renewed the connection after this one last saw it', async () => {
    const exp = nowSeconds() + 1;
    const closed: string[] = [];
    const here = realtime(closed);
    await here.connect('renewed-elsewhere', holding(driverA, exp));
    expect(await connections.renew('renewed-elsewhere', exp + 3600)).toBe(true);
    while (Date.now() < exp * 1000) await new Promise((r) => setTimeout(r, 20));
    expect(await sendFrame(here, 'renewed-elsewhere', { action: 'ping', reqId: 'p' })).toMatchObject({ type: 'ack', reqId: 'p' });
    expect(closed).toEqual([]);
  });
});
