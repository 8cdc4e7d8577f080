/**
 * RealtimeService on the in-memory fakes (no DynamoDB, no sockets):
 * subscribing to an order room (the membership, the epoch moved after the
 * join, `sinceSeq` catch-up cut at 128 KiB), feed rooms authorized on the
 * principal, unsubscribe moving the epoch, `auth` renewal and its refusals,
 * and a frame from an expired connection (told, closed, no ack).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../shared/domain/errors';
import type { Principal } from '../../shared/domain/model';
import type { AckFieldsOf } from '../../shared/domain/protocol';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import type { TokenVerifier, VerifiedToken } from '../../shared/runtime/auth';
import { OrdersService } from '../../shared/services/orders-service';
import { RealtimeService, SUBSCRIBE_ACK_MAX_BYTES } from '../../shared/services/realtime-service';
import { SlaService } from '../../shared/services/sla-service';
import {
  InMemoryAlertStore,
  InMemoryConnectionStore,
  InMemoryOrderStore,
  InMemoryPolicyStore,
  RecordingLogger,
  RecordingNotifier,
  RecordingSmsSender,
} from '../support/fakes';
import { CREATE_BODY, dispatcher, driver1, retailerA, retailerB, TENANT } from './fixtures';

const NOW = new Date('2024-05-01T09:30:00.000Z');
const NOW_S = NOW.getTime() / 1000;

/** Tokens this test's verifier accepts, by their text. */
const tokens = new Map<string, VerifiedToken>();
const verifyToken: TokenVerifier = async (token) => {
  const verified = token === undefined ? undefined : tokens.get(token);
  if (verified === undefined) throw new UnauthorizedError('The token is invalid or expired.');
  return verified;
};

let orderStore: InMemoryOrderStore;
let connections: InMemoryConnectionStore;
let orders: OrdersService;
let api: RecordingNotifier;
let realtime: RealtimeService;

beforeEach(async () => {
  tokens.clear();
  orderStore = new InMemoryOrderStore();
  connections = new InMemoryConnectionStore(() => NOW.getTime());
  const policies = new InMemoryPolicyStore(DEFAULT_SLA_POLICY);
  orders = new OrdersService({ orders: orderStore, policies, now: () => NOW });
  api = new RecordingNotifier();
  const log = new RecordingLogger();
  const alerts = new SlaService({ orders: orderStore, alerts: new InMemoryAlertStore(orderStore.table), policies, sms: new RecordingSmsSender(), log, now: () => NOW });
  realtime = new RealtimeService({
    orders,
    connections,
    alerts,
    verifyToken,
    closeConnection: (id) => api.disconnect(id),
    push: (id, data) => api.send(id, data),
    log,
    now: () => NOW,
  });
  await orders.create(retailerA, CREATE_BODY);
  await orders.assign(dispatcher, 'ord-1', driver1.sub);
});

/** A connection of `principal` whose token expires `ttl` seconds from NOW. */
async function connected(connectionId: string, principal: Principal, ttl = 3600): Promise<void> {
  await realtime.connect(connectionId, { principal, exp: NOW_S + ttl });
  api.open(connectionId);
}

const post = (text: string, i: number) => orders.message(driver1, { action: 'message', messageId: `m-${i}`, orderId: 'ord-1', text });
const subscribe = (connectionId: string, room: string, sinceSeq?: number) =>
  realtime.handle(connectionId, 'subscribe', { action: 'subscribe', room, ...(sinceSeq !== undefined && { sinceSeq }) }, 'req-1');
/** The room epoch the next event of ord-1 is stored under. */
async function nextEventEpoch(i: number): Promise<number | undefined> {
  const { seq } = await post('probe', 1000 + i);
  return orderStore.table.routed(TENANT, 'ord-1', seq)?.roomEpoch;
}

describe('subscribe to an order room', () => {
  it('joins with the holder, moves the epoch after the join, and acks the head with the events since sinceSeq', async () => {
    await connected('c1', retailerA);
    for (let i = 0; i < 3; i++) await post(`note ${i}`, i);

    const ack = (await subscribe('c1', 'order:ord-1', 2)) as AckFieldsOf<'subscribe'>;

    expect(ack).toMatchObject({ room: 'order:ord-1', headSeq: 5, more: false });
    expect(ack.items?.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(await connections.memberships(TENANT, 'order:ord-1')).toEqual([
      expect.objectContaining({ connectionId: 'c1', holder: { principal: retailerA, exp: NOW_S + 3600 } }),
    ]);
    expect(await nextEventEpoch(0)).toBe(1);
    // Without sinceSeq: the head only.
    expect(await subscribe('c1', 'order:ord-1')).toEqual({ room: 'order:ord-1', headSeq: 6 });
  });

  it('cuts the catch-up at 128 KiB with more: true, whole events only', async () => {
    await connected('c1', retailerA);
    const text = 'x'.repeat(4000);
    for (let i = 0; i < 40; i++) await post(text, i);

    const ack = (await subscribe('c1', 'order:ord-1', 0)) as AckFieldsOf<'subscribe'>;

    const bytes = Buffer.byteLength(JSON.stringify({ type: 'ack', reqId: 'req-1', ...ack }), 'utf8');
    expect(ack.headSeq).toBe(42);
    expect(ack.more).toBe(true);
    expect(bytes).toBeLessThanOrEqual(SUBSCRIBE_ACK_MAX_BYTES);
    expect(bytes).toBeGreaterThan(SUBSCRIBE_ACK_MAX_BYTES - 4500);
    expect(ack.items?.map((e) => e.seq)).toEqual(Array.from({ length: ack.items?.length ?? 0 }, (_, i) => i + 1));
  });

  it('refuses a principal who may not read the order, and joins nothing', async () => {
    await connected('c2', retailerB);
    await expect(subscribe('c2', 'order:ord-1', 0)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(subscribe('c2', 'order:no-such')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await connections.members(TENANT, 'order:ord-1')).toEqual([]);
    expect(await nextEventEpoch(0)).toBe(0);
  });
});

describe('feed rooms', () => {
  it('are authorized on the principal alone: dispatch for dispatchers, retailer:<id> for its own retailer', async () => {
    await connected('disp', dispatcher);
    await connected('ret', retailerA);
    await connected('drv', driver1);

    expect(await subscribe('disp', 'dispatch')).toEqual({ room: 'dispatch' });
    expect(await subscribe('disp', 'retailer:ret-B')).toEqual({ room: 'retailer:ret-B' });
    expect(await subscribe('ret', 'retailer:ret-A')).toEqual({ room: 'retailer:ret-A' });
    await expect(subscribe('ret', 'retailer:ret-B')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(subscribe('ret', 'dispatch')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(subscribe('drv', 'dispatch')).rejects.toMatchObject({ code: 'FORBIDDEN' });

    expect(await connections.members(TENANT, 'dispatch')).toEqual(['disp']);
    expect(await connections.members(TENANT, 'retailer:ret-B')).toEqual(['disp']);
    // A feed room carries no membership epoch.
    expect(await nextEventEpoch(0)).toBe(0);
  });
});

describe('unsubscribe', () => {
  it("leaves the room and moves the order room's epoch; leaving a room not held moves nothing", async () => {
    await connected('c1', retailerA);
    await subscribe('c1', 'order:ord-1');
    expect(await nextEventEpoch(0)).toBe(1);

    expect(await realtime.handle('c1', 'unsubscribe', { action: 'unsubscribe', room: 'order:ord-1' }, 'r')).toEqual({ room: 'order:ord-1' });
    expect(await connections.members(TENANT, 'order:ord-1')).toEqual([]);
    expect(await nextEventEpoch(1)).toBe(2);

    await realtime.handle('c1', 'unsubscribe', { action: 'unsubscribe', room: 'order:ord-1' }, 'r');
    expect(await nextEventEpoch(2)).toBe(2);
  });
});

describe('auth (renewal)', () => {
  it('moves the connection and its memberships to the new exp', async () => {
    await connected('c1', retailerA, 60);
    await subscribe('c1', 'order:ord-1');
    tokens.set('fresh', { principal: retailerA, exp: NOW_S + 7200 });

    expect(await realtime.handle('c1', 'auth', { action: 'auth', token: 'fresh' }, 'r')).toEqual({ exp: NOW_S + 7200 });
    expect((await connections.get('c1'))?.exp).toBe(NOW_S + 7200);
    expect((await connections.memberships(TENANT, 'order:ord-1'))[0]?.holder?.exp).toBe(NOW_S + 7200);
  });

  it('refuses a token that does not verify (UNAUTHORIZED) or proves someone else (FORBIDDEN), changing nothing', async () => {
    await connected('c1', retailerA, 60);
    tokens.set('other-user', { principal: { ...retailerA, sub: 'someone-else' }, exp: NOW_S + 7200 });
    tokens.set('other-retailer', { principal: { ...retailerA, retailerId: 'ret-B' }, exp: NOW_S + 7200 });

    await expect(realtime.handle('c1', 'auth', { action: 'auth', token: 'forged' }, 'r')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(realtime.handle('c1', 'auth', { action: 'auth', token: 'other-user' }, 'r')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(realtime.handle('c1', 'auth', { action: 'auth', token: 'other-retailer' }, 'r')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await connections.get('c1'))?.exp).toBe(NOW_S + 60);
  });

  it('refuses a renewal for a connection the store no longer has (UNAUTHORIZED)', async () => {
    await connected('c1', retailerA);
    tokens.set('fresh', { principal: retailerA, exp: NOW_S + 7200 });
    // Gone from the table while this process still remembers its holder.
    await connections.remove('c1');

    await expect(realtime.handle('c1', 'auth', { action: 'auth', token: 'fresh' }, 'r')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });
});

describe('a frame from an expired connection', () => {
  it('is answered UNAUTHORIZED over @connections, the connection is closed, and the call returns null', async () => {
    await connected('old', retailerA, 0);

    const result = await realtime.handle('old', 'ping', { action: 'ping' }, 'req-9');

    expect(result).toBeNull();
    expect(api.framesOf('old')).toEqual([expect.objectContaining({ type: 'error', reqId: 'req-9', code: 'UNAUTHORIZED' })]);
    expect(api.closed).toEqual(['old']);
    expect(await connections.members(TENANT, 'order:ord-1')).toEqual([]);
  });

  it('and from a connection never recorded, the same', async () => {
    api.open('ghost');

    expect(await realtime.handle('ghost', 'subscribe', { action: 'subscribe', room: 'dispatch' }, 'r')).toBeNull();
    expect(api.framesOf('ghost')).toEqual([expect.objectContaining({ type: 'error', code: 'UNAUTHORIZED' })]);
    expect(api.closed).toEqual(['ghost']);
  });

  it('but a live one gets its ack', async () => {
    await connected('live', retailerA);
    expect(await realtime.handle('live', 'ping', { action: 'ping' }, 'r')).toEqual({ now: NOW.toISOString() });
    expect(api.closed).toEqual([]);
  });
});
