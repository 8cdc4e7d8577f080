/**
 * The store contract, run on both implementations: the DynamoDB stores
 * against DynamoDB Local, and the in-memory fakes the unit tests use
 * (test/support/fakes). The same assertions on both, so a fake cannot drift
 * from the store it stands in for: order store (create, append, replay,
 * conflict, alert write conditions, timeline paging, room epochs, listing),
 * alert store (outbox claims, due index, guarded clock moves) and connection
 * store (put, get, join, leave, the 500-room limit, memberships, renew, remove).
 */
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LimitExceededError, NotFoundError, RateLimitedError } from '../../shared/domain/errors';
import type { OrderHead, Principal } from '../../shared/domain/model';
import { newOrder, planAssign, planCheckpoint, planMessage } from '../../shared/domain/orders';
import { requestDigest } from '../../shared/domain/request-digest';
import type { CheckpointFrame, MessageFrame } from '../../shared/domain/schemas';
import { dueShardOf, planFireLevel, planOpenAlert, type SlaPolicy } from '../../shared/domain/sla';
import { InvalidCursorError } from '../../shared/runtime/cursor';
import { DynamoAlertStore, type AlertStore } from '../../shared/store/alert-store';
import { DynamoConnectionStore, type ConnectionStore } from '../../shared/store/connection-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import type { IdempotencyKey, OrderStore } from '../../shared/store/order-store';
import type { RoutedEvent } from '../../shared/store/stream-records';
import { keys } from '../../shared/store/tables';
import { InMemoryAlertStore, InMemoryConnectionStore, InMemoryOrdersTable, InMemoryOrderStore } from '../support/fakes';
import { streamed } from '../support/stream';
import { createTestTables } from '../support/tables';

/** One implementation of the stores, on fresh state. */
interface Stores {
  readonly orders: OrderStore;
  /** Another store on the same state: another process (Lambda container). */
  otherProcess(): OrderStore;
  readonly alerts: AlertStore;
  readonly connections: ConnectionStore;
  /** The stored event `seq` as the fan-out gets it from the stream. */
  routed(tenant: string, orderId: string, seq: number): Promise<RoutedEvent | undefined>;
  /**
   * Arrange: make a connection hold `rooms`, as that many joins would. On
   * DynamoDB Local the room set is written directly (hundreds of joins, one
   * transaction each, would take most of a minute); in memory by joining.
   */
  holdRooms(connectionId: string, rooms: readonly string[]): Promise<void>;
}

const implementations: [string, () => Promise<Stores>][] = [
  [
    'DynamoDB',
    async () => {
      const tables = await createTestTables(inject('dynamodbEndpoint'));
      return {
        orders: new DynamoOrderStore(tables.doc, tables.orders),
        otherProcess: () => new DynamoOrderStore(tables.doc, tables.orders),
        alerts: new DynamoAlertStore(tables.doc, tables.orders),
        connections: new DynamoConnectionStore(tables.doc, tables.connections),
        routed: (tenant, orderId, seq) => streamed(tables.doc, tables.orders, tenant, orderId, seq),
        holdRooms: async (connectionId, rooms) => {
          await tables.doc.send(
            new UpdateCommand({
              TableName: tables.connections,
              Key: { pk: keys.connection(connectionId), sk: keys.connectionMeta },
              UpdateExpression: 'ADD rooms :rooms',
              ExpressionAttributeValues: { ':rooms': new Set(rooms) },
            }),
          );
        },
      };
    },
  ],
  [
    'in-memory fake',
    async () => {
      const table = new InMemoryOrdersTable();
      const connections = new InMemoryConnectionStore();
      return {
        orders: new InMemoryOrderStore(table),
        otherProcess: () => new InMemoryOrderStore(table),
        alerts: new InMemoryAlertStore(table),
        connections,
        routed: async (tenant, orderId, seq) => table.routed(tenant, orderId, seq),
        holdRooms: async (connectionId, rooms) => {
          const record = await connections.get(connectionId);
          if (record === null) throw new Error(`no connection ${connectionId}`);
          for (const room of rooms) await connections.join(connectionId, room, record);
        },
      };
    },
  ],
];

const TENANT = 'contract';
const retailer: Principal = { tenant: TENANT, role: 'retailer', sub: 'rita', retailerId: 'r1' };
const dispatcher: Principal = { tenant: TENANT, role: 'dispatcher', sub: 'dana' };
const driver: Principal = { tenant: TENANT, role: 'driver', sub: 'drv-1' };
const nowSeconds = () => Math.floor(Date.now() / 1000);
const holding = (principal: Principal, exp = nowSeconds() + 3600) => ({ principal, exp });

let n = 0;
/** A fresh order id, unique in the run (the Dynamo tables are shared by this file's tests). */
const freshId = (label: string) => `${label}-${++n}`;

/** A new order's head and created event, created `minutesAgo` before now (so listings sort by it). */
function order(orderId: string, p: Principal = retailer, minutesAgo = 0, extra: Partial<OrderHead> = {}) {
  const at = new Date(Date.now() - minutesAgo * 60_000).toISOString();
  const made = newOrder(p, orderId, { orderId, retailerId: p.retailerId ?? 'r1', recipient: { name: 'Ada' }, destination: { address: '1 Main St' } }, at);
  return { head: { ...made.head, ...extra }, event: made.event };
}

const message = (orderId: string, messageId: string, text = `note ${messageId}`): MessageFrame => ({ action: 'message', messageId, orderId, text });
const messageKey = (frame: MessageFrame): IdempotencyKey => ({ id: frame.messageId, kind: 'message', digest: requestDigest('message', frame) });
const checkpoint = (orderId: string, eventId: string, status: 'picked_up' | 'in_transit'): CheckpointFrame => ({
  action: 'checkpoint',
  eventId,
  orderId,
  status,
  occurredAt: new Date().toISOString(),
});
const checkpointKey = (frame: CheckpointFrame): IdempotencyKey => ({ id: frame.eventId, kind: 'checkpoint', digest: requestDigest('checkpoint', frame) });

/** What a promise settled to: its value, or the error it threw. */
const settle = <T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe.each(implementations)('store contract: %s', (_name, make) => {
  let s: Stores;
  beforeAll(async () => {
    s = await make();
  });

  /** A stored order assigned to `driver` (seq 1 created, 2 assigned). */
  async function assignedOrder(label: string): Promise<string> {
    const orderId = freshId(label);
    const { head, event } = order(orderId);
    await s.orders.createOrder(head, event);
    const now = new Date().toISOString();
    await s.orders.append(TENANT, orderId, (h) => planAssign(dispatcher, h, driver.sub, now));
    return orderId;
  }

  const seqsOf = async (orderId: string) => (await s.orders.timeline(TENANT, orderId, 0, 100)).map((e) => e.seq);

  describe('OrderStore', () => {
    it('creates an order with its created event at seq 1, once; the same id again returns the stored head', async () => {
      const orderId = freshId('create');
      const first = order(orderId);
      const created = await s.orders.createOrder(first.head, first.event);
      const again = await s.orders.createOrder({ ...first.head, destination: { address: 'elsewhere' } }, first.event);

      expect(created).toEqual({ created: true, head: first.head });
      expect(again.created).toBe(false);
      expect(again.head).toEqual(first.head);
      expect(await s.orders.getOrder(TENANT, orderId)).toEqual(first.head);
      expect(await s.orders.timeline(TENANT, orderId, 0, 10)).toEqual([first.event]);
      expect(await s.orders.getOrder('other-tenant', orderId)).toBeNull();
      expect(await s.orders.getOrder(TENANT, 'no-such-order')).toBeNull();
    });

    it('appends at headSeq + 1, deciding on the current head, and routes the event with the order as of it', async () => {
      const orderId = await assignedOrder('append');
      let decidedOn: number | undefined;
      const frame = message(orderId, 'm-1');
      const result = await s.orders.append(
        TENANT,
        orderId,
        (head) => {
          decidedOn = head.headSeq;
          return planMessage(driver, head, frame, new Date().toISOString());
        },
        messageKey(frame),
      );

      expect(decidedOn).toBe(2);
      expect(result).toMatchObject({ outcome: 'stored', seq: 3, head: { headSeq: 3, driverId: driver.sub }, event: { seq: 3, kind: 'message', messageId: 'm-1' } });
      expect((await s.orders.getOrder(TENANT, orderId))?.headSeq).toBe(3);
      expect(await seqsOf(orderId)).toEqual([1, 2, 3]);
      expect(await s.routed(TENANT, orderId, 3)).toMatchObject({ tenant: TENANT, retailerId: 'r1', driverId: driver.sub, roomEpoch: 0, event: { seq: 3 } });
      expect(await s.routed(TENANT, orderId, 1)).toMatchObject({ driverId: null, event: { kind: 'created' } });
    });

    it('stores nothing when decide returns null (unchanged, with the head) or throws (the error)', async () => {
      const orderId = await assignedOrder('refuse');
      const unchanged = await s.orders.append(TENANT, orderId, () => null);
      const refused = await settle(
        s.orders.append(TENANT, orderId, (head) => planCheckpoint(driver, head, checkpoint(orderId, 'bad', 'in_transit'), new Date().toISOString())),
      );

      expect(unchanged).toMatchObject({ outcome: 'unchanged', head: { headSeq: 2 } });
      expect(refused).toMatchObject({ ok: false, error: { code: 'ILLEGAL_TRANSITION' } });
      expect(await seqsOf(orderId)).toEqual([1, 2]);
      await expect(s.orders.append(TENANT, 'no-such-order', () => null)).rejects.toBeInstanceOf(NotFoundError);
    });

    it('stores two events in one write for a follow-up: seq and seq + 1', async () => {
      const orderId = await assignedOrder('follow');
      const now = new Date().toISOString();
      const result = await s.orders.append(TENANT, orderId, (head) => {
        const first = planMessage(driver, head, message(orderId, 'f-1'), now);
        const second = planMessage(driver, head, message(orderId, 'f-2'), now);
        return { ...first, followUp: second.event };
      });

      expect(result).toMatchObject({ outcome: 'stored', seq: 3, head: { headSeq: 4 } });
      expect(await seqsOf(orderId)).toEqual([1, 2, 3, 4]);
    });

    it('answers a replayed key as a duplicate with the original seq and outcome, also when the rules now refuse it, storing nothing', async () => {
      const orderId = await assignedOrder('replay');
      const frame = checkpoint(orderId, 'cp-1', 'picked_up');
      const decide = (head: OrderHead) => planCheckpoint(driver, head, frame, new Date().toISOString());
      const first = await s.orders.append(TENANT, orderId, decide, checkpointKey(frame));
      const later = checkpoint(orderId, 'cp-2', 'in_transit');
      await s.orders.append(TENANT, orderId, (head) => planCheckpoint(driver, head, later, new Date().toISOString()), checkpointKey(later));
      // picked_up is no longer a legal move from in_transit: the replay is still answered as the stored request.
      const again = await s.orders.append(TENANT, orderId, decide, checkpointKey(frame));
      const fromOtherProcess = await s.otherProcess().append(TENANT, orderId, decide, checkpointKey(frame));

      expect(first).toMatchObject({ outcome: 'stored', seq: 3 });
      expect(again).toEqual({ outcome: 'duplicate', seq: 3, by: driver.sub, status: 'picked_up', applied: true });
      expect(fromOtherProcess).toEqual(again);
      expect(await seqsOf(orderId)).toEqual([1, 2, 3, 4]);
    });

    it('answers another request under a used key as a conflict with the stored kind, storing nothing', async () => {
      const orderId = await assignedOrder('conflict');
      const frame = message(orderId, 'same-id', 'first');
      const now = new Date().toISOString();
      await s.orders.append(TENANT, orderId, (head) => planMessage(driver, head, frame, now), messageKey(frame));
      const otherText = message(orderId, 'same-id', 'second');
      const asCheckpoint = checkpoint(orderId, 'same-id', 'picked_up');

      const changed = await s.orders.append(TENANT, orderId, (head) => planMessage(driver, head, otherText, now), messageKey(otherText));
      const otherKind = await s.orders.append(
        TENANT,
        orderId,
        (head) => planCheckpoint(driver, head, asCheckpoint, now),
        checkpointKey(asCheckpoint),
      );

      expect(changed).toEqual({ outcome: 'conflict', seq: 3, by: driver.sub, kind: 'message' });
      expect(otherKind).toEqual({ outcome: 'conflict', seq: 3, by: driver.sub, kind: 'message' });
      expect(await seqsOf(orderId)).toEqual([1, 2, 3]);
    });

    it('gives concurrent appends from two processes gapless, unique seqs, and one key racing is stored once', async () => {
      const orderId = await assignedOrder('race');
      const now = new Date().toISOString();
      const stores = [s.orders, s.otherProcess()];
      const acks = await Promise.all(
        Array.from({ length: 16 }, (_, i) => {
          const frame = message(orderId, `r-${i}`);
          return stores[i % 2]!.append(TENANT, orderId, (head) => planMessage(driver, head, frame, now), messageKey(frame));
        }),
      );
      const twin = message(orderId, 'twin');
      const twins = await Promise.all(
        stores.map((store) => store.append(TENANT, orderId, (head) => planMessage(driver, head, twin, now), messageKey(twin))),
      );

      expect(acks.map((a) => (a.outcome === 'stored' ? a.seq : a.outcome)).sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: 16 }, (_, i) => i + 3),
      );
      expect(twins.map((t) => t.outcome).sort()).toEqual(['duplicate', 'stored']);
      expect(twins.map((t) => ('seq' in t ? t.seq : 0))).toEqual([19, 19]);
      expect(await seqsOf(orderId)).toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    });

    it('pages the timeline: events in (sinceSeq, sinceSeq + limit], nothing past the head', async () => {
      const orderId = await assignedOrder('page');
      const now = new Date().toISOString();
      for (let i = 0; i < 5; i++) await s.orders.append(TENANT, orderId, (head) => planMessage(driver, head, message(orderId, `p-${i}`), now));

      const pages = await Promise.all([[0, 3], [3, 3], [6, 3], [7, 3], [2, 1], [99, 10]].map(([since, limit]) => s.orders.timeline(TENANT, orderId, since!, limit!)));

      expect(pages.map((page) => page.map((e) => e.seq))).toEqual([[1, 2, 3], [4, 5, 6], [7], [], [3], []]);
      expect(await s.orders.timeline('other-tenant', orderId, 0, 10)).toEqual([]);
    });

    it('moves the room epoch: the head as it is, and later events carry the new epoch; NOT_FOUND creates nothing', async () => {
      const orderId = await assignedOrder('epoch');
      const now = new Date().toISOString();
      const before = await s.orders.getOrder(TENANT, orderId);
      const bumped = await s.orders.bumpRoomEpoch(TENANT, orderId);
      const writer = s.otherProcess();
      await writer.append(TENANT, orderId, (head) => planMessage(driver, head, message(orderId, 'e-1'), now));
      await s.orders.bumpRoomEpoch(TENANT, orderId);
      await writer.append(TENANT, orderId, (head) => planMessage(driver, head, message(orderId, 'e-2'), now));

      expect(bumped).toEqual(before);
      expect(bumped.headSeq).toBe(2);
      expect((await s.routed(TENANT, orderId, 2))?.roomEpoch).toBe(0);
      expect((await s.routed(TENANT, orderId, 3))?.roomEpoch).toBe(1);
      expect((await s.routed(TENANT, orderId, 4))?.roomEpoch).toBe(2);
      await expect(s.orders.bumpRoomEpoch(TENANT, 'no-such-order')).rejects.toBeInstanceOf(NotFoundError);
      expect(await s.orders.getOrder(TENANT, 'no-such-order')).toBeNull();
    });

    it('lists heads by scope, newest first, in pages that go on from `next`; a malformed position is InvalidCursorError', async () => {
      const tenant = freshId('list');
      const r1: Principal = { ...retailer, tenant };
      const r2: Principal = { ...retailer, tenant, sub: 'rob', retailerId: 'r2' };
      for (let i = 0; i < 5; i++) {
        const { head, event } = order(`L${i}`, i < 3 ? r1 : r2, 10 - i);
        await s.orders.createOrder(head, event);
      }
      await s.orders.append(tenant, 'L1', (head) => planAssign({ ...dispatcher, tenant }, head, 'drv-9', new Date().toISOString()));

      const seen: string[][] = [];
      let after: string | undefined;
      do {
        const page = await s.orders.listOrders(tenant, { by: 'tenant' }, 2, after);
        seen.push(page.items.map((h) => h.orderId));
        after = page.next;
      } while (after !== undefined);

      expect(seen.flat()).toEqual(['L4', 'L3', 'L2', 'L1', 'L0']);
      expect(seen[0]).toEqual(['L4', 'L3']);
      expect((await s.orders.listOrders(tenant, { by: 'retailer', retailerId: 'r1' }, 10)).items.map((h) => h.orderId)).toEqual(['L2', 'L1', 'L0']);
      expect((await s.orders.listOrders(tenant, { by: 'driver', driverId: 'drv-9' }, 10)).items.map((h) => h.orderId)).toEqual(['L1']);
      expect(await s.orders.listOrders(tenant, { by: 'tenant' }, 10)).toMatchObject({ items: { length: 5 } });
      expect((await s.orders.listOrders(tenant, { by: 'tenant' }, 10)).next).toBeUndefined();
      // A page that ends exactly at the last head still says where to go on (DynamoDB stopped at its Limit); the next page is empty and last.
      const exact = await s.orders.listOrders(tenant, { by: 'tenant' }, 5);
      expect(exact.items).toHaveLength(5);
      expect(exact.next).toBeDefined();
      expect(await s.orders.listOrders(tenant, { by: 'tenant' }, 5, exact.next)).toEqual({ items: [] });
      await expect(s.orders.listOrders(tenant, { by: 'tenant' }, 2, 'no-separator')).rejects.toBeInstanceOf(InvalidCursorError);
    });
  });

  describe('alert writes with appends, and AlertStore', () => {
    const POLICY: SlaPolicy = {
      dwellSeconds: { created: 60 },
      escalation: [
        { afterSeconds: 0, notify: 'sms', to: ['+15550100001', '+15550100002'] },
        { afterSeconds: 300, notify: 'dispatch' },
      ],
    };

    /** An order created 2 minutes ago whose stay ran out a minute ago, its clock due then. */
    async function stalledOrder(): Promise<{ orderId: string; head: OrderHead }> {
      const orderId = freshId('stalled');
      const made = order(orderId, retailer, 2);
      const head = { ...made.head, dueAt: new Date(Date.parse(made.head.createdAt) + 60_000).toISOString() };
      await s.orders.createOrder(head, made.event);
      return { orderId, head };
    }

    it('opens an alert once: a second opening, even one that insists, stores nothing (RATE_LIMITED) and fires nothing twice', async () => {
      const { orderId, head } = await stalledOrder();
      const now = new Date();
      const plan = planOpenAlert(head, POLICY, now)!;
      const opened = await s.orders.append(TENANT, orderId, () => plan);
      const alertId = (opened.outcome === 'stored' && opened.head.openAlertId) || '';
      // Another sweep that decided on the head before the opening: its guard on headSeq says nothing to do.
      const guarded = await s.otherProcess().append(TENANT, orderId, (h) => (h.headSeq === head.headSeq ? plan : null));
      // One that ignores the head: the alert's own condition refuses it, attempt after attempt.
      const insisting = await settle(s.otherProcess().append(TENANT, orderId, () => plan));

      expect(opened).toMatchObject({ outcome: 'stored', seq: 2, head: { openAlertId: plan.change.openAlertId, alertLevel: 1 } });
      expect(guarded).toMatchObject({ outcome: 'unchanged', head: { headSeq: 2 } });
      expect(insisting.ok ? insisting.value : insisting.error).toBeInstanceOf(RateLimitedError);
      expect(await seqsOf(orderId)).toEqual([1, 2]);
      expect(await s.alerts.get(TENANT, alertId)).toMatchObject({ alertId, state: 'open', level: 1, orderId });
      expect((await s.alerts.unsent(TENANT, alertId)).map((i) => [i.level, i.index, i.to, i.state])).toEqual([
        [1, 0, '+15550100001', 'pending'],
        [1, 1, '+15550100002', 'pending'],
      ]);
    });

    it('fires a level only from the level it was decided on', async () => {
      const { orderId, head } = await stalledOrder();
      await s.orders.append(TENANT, orderId, () => planOpenAlert(head, POLICY, new Date()));
      const after = (await s.orders.getOrder(TENANT, orderId))!;
      const alert = (await s.alerts.get(TENANT, after.openAlertId!))!;
      // Level 2 is due 300 s after the opening.
      const fire = planFireLevel(after, alert, new Date(Date.now() + 301_000))!;
      const fired = await s.orders.append(TENANT, orderId, () => fire);
      const twice = await settle(s.otherProcess().append(TENANT, orderId, () => fire));

      expect(fired).toMatchObject({ outcome: 'stored', seq: 3, head: { alertLevel: 2 } });
      expect(twice.ok ? twice.value : twice.error).toBeInstanceOf(RateLimitedError);
      expect(await s.alerts.get(TENANT, alert.alertId)).toMatchObject({ level: 2 });
      expect(await seqsOf(orderId)).toEqual([1, 2, 3]);
      expect((await s.alerts.list(TENANT, 'open', 100)).map((a) => a.alertId)).toContain(alert.alertId);
    });

    it('claims an SMS once until released or sent, and lists only unsent ones', async () => {
      const { orderId, head } = await stalledOrder();
      const now = new Date();
      await s.orders.append(TENANT, orderId, () => planOpenAlert(head, POLICY, now));
      const alertId = (await s.orders.getOrder(TENANT, orderId))!.openAlertId!;
      const [first, second] = await s.alerts.unsent(TENANT, alertId);
      const until = new Date(now.getTime() + 60_000);

      const claims = [await s.alerts.claim(TENANT, first!, now, until), await s.alerts.claim(TENANT, first!, now, until)];
      await s.alerts.release(TENANT, first!);
      const afterRelease = await s.alerts.claim(TENANT, first!, now, until);
      const afterClaimRanOut = await s.alerts.claim(TENANT, first!, new Date(until.getTime() + 1), new Date(until.getTime() + 60_000));
      await s.alerts.markSent(TENANT, first!, 'msg-1', now);
      const sentClaim = await s.alerts.claim(TENANT, first!, new Date(until.getTime() + 120_000), until);
      await s.alerts.release(TENANT, first!);

      expect(claims).toEqual([true, false]);
      expect(afterRelease).toBe(true);
      expect(afterClaimRanOut).toBe(true);
      expect(sentClaim).toBe(false);
      expect((await s.alerts.unsent(TENANT, alertId)).map((i) => [i.level, i.index])).toEqual([[second!.level, second!.index]]);
      expect(await s.alerts.claim(TENANT, { ...first!, alertId: 'no-such-alert' }, now, until)).toBe(false);
    });

    it('lists due orders by shard up to now, and moves a clock only while the order is where the caller saw it', async () => {
      const { orderId, head } = await stalledOrder();
      const shard = Number(dueShardOf(TENANT, orderId));
      const dueNow = async () => (await s.alerts.due(shard, new Date(), 1000)).filter((d) => d.orderId === orderId);
      const before = await dueNow();
      const notYet = (await s.alerts.due(shard, new Date(Date.parse(head.dueAt!) - 1), 1000)).filter((d) => d.orderId === orderId);
      const later = new Date(Date.now() + 3_600_000).toISOString();
      await s.alerts.setDue(TENANT, orderId, later, String(shard), { statusSince: 'another stay' });
      const afterRefused = await dueNow();
      await s.alerts.setDue(TENANT, orderId, later, String(shard), { statusSince: head.statusSince });
      const afterMoved = await dueNow();
      await s.alerts.setDue(TENANT, orderId, null, String(shard), { statusSince: head.statusSince });

      expect(before).toEqual([{ tenant: TENANT, orderId }]);
      expect(notYet).toEqual([]);
      expect(afterRefused).toEqual([{ tenant: TENANT, orderId }]);
      expect(afterMoved).toEqual([]);
      expect((await s.orders.getOrder(TENANT, orderId))?.dueAt).toBeUndefined();
      expect((await s.alerts.due(shard, new Date(Date.now() + 7_200_000), 1000)).filter((d) => d.orderId === orderId)).toEqual([]);
      await expect(s.alerts.setDue(TENANT, 'no-such-order', later, String(shard), { alertId: 'x' })).resolves.toBeUndefined();
      await expect(s.alerts.due(8, new Date(), 10)).rejects.toBeInstanceOf(RangeError);
    });
  });

  describe('ConnectionStore', () => {
    const alice: Principal = { tenant: 't1', role: 'dispatcher', sub: 'alice' };

    it('keeps a connection with its holder and rooms; an unknown or expired one is null', async () => {
      const id = freshId('c');
      const connectedAt = new Date(Math.floor(Date.now() / 1000) * 1000);
      const holder = holding(alice);
      await s.connections.put(id, holder, connectedAt);
      const joined = [await s.connections.join(id, 'dispatch', holder), await s.connections.join(id, 'order:o1', holder)];
      const expired = freshId('c-old');
      await s.connections.put(expired, holder, new Date(Date.now() - 3 * 3600_000));

      const record = await s.connections.get(id);
      expect(joined).toEqual([true, true]);
      expect(record).toMatchObject({
        connectionId: id,
        principal: alice,
        exp: holder.exp,
        connectedAt: connectedAt.toISOString(),
        expiresAt: connectedAt.getTime() / 1000 + 2 * 3600,
      });
      expect([...(record?.rooms ?? [])].sort()).toEqual(['dispatch', 'order:o1']);
      expect(await s.connections.get('nobody')).toBeNull();
      expect(await s.connections.get(expired)).toBeNull();
    });

    it('joins only an existing connection; lists members per tenant and room, with their holders', async () => {
      const [a, b, c] = [freshId('a'), freshId('b'), freshId('c')];
      const other: Principal = { ...alice, tenant: 't2' };
      await s.connections.put(a, holding(alice, 2_000_000_000), new Date());
      await s.connections.put(b, holding(alice, 2_000_000_001), new Date());
      await s.connections.put(c, holding(other), new Date());
      const room = `order:${freshId('room')}`;
      for (const [id, p] of [[b, alice], [a, alice], [c, other]] as const) await s.connections.join(id, room, holding(p, 1));

      expect(await s.connections.join('nobody', room, holding(alice))).toBe(false);
      expect(await s.connections.members('t1', room)).toEqual([a, b].sort());
      expect(await s.connections.members('t2', room)).toEqual([c]);
      // The membership carries the connection's own expiry, whatever the joiner said.
      const joinedAt = Math.floor(Date.now() / 1000);
      const memberships = await s.connections.memberships('t1', room, { consistent: true });
      expect(memberships.map(({ expiresAt: _expiresAt, ...m }) => m)).toEqual(
        [
          { connectionId: a, holder: { principal: alice, exp: 2_000_000_000 } },
          { connectionId: b, holder: { principal: alice, exp: 2_000_000_001 } },
        ].sort((x, y) => (x.connectionId < y.connectionId ? -1 : 1)),
      );
      // Each membership lives as long as a connection may (API Gateway's 2 hours), from its join.
      for (const m of memberships) expect(m.expiresAt - joinedAt).toBeGreaterThanOrEqual(2 * 3600 - 5);
      for (const m of memberships) expect(m.expiresAt - joinedAt).toBeLessThanOrEqual(2 * 3600 + 1);
      const [membership] = await s.connections.memberships('t1', room);
      expect(membership!.expiresAt).toBeGreaterThan(nowSeconds() + 2 * 3600 - 60);
    });

    it('leaves a room: true once for a member, false when not in it', async () => {
      const id = freshId('leaver');
      const room = `order:${freshId('left')}`;
      await s.connections.put(id, holding(alice), new Date());
      await s.connections.join(id, room, holding(alice));

      expect(await s.connections.leave(id, 't1', room)).toBe(true);
      expect(await s.connections.leave(id, 't1', room)).toBe(false);
      expect(await s.connections.leave(id, 't1', 'order:never')).toBe(false);
      expect(await s.connections.members('t1', room)).toEqual([]);
      expect((await s.connections.get(id))?.rooms).toEqual([]);
    });

    it('holds at most 500 rooms: another is LIMIT_EXCEEDED and changes nothing, a held one joins again, a left one frees a slot', async () => {
      const id = freshId('cap');
      await s.connections.put(id, holding(alice), new Date());
      await s.holdRooms(id, Array.from({ length: 495 }, (_, i) => `order:cap-${i}`));
      for (let i = 495; i < 500; i++) expect(await s.connections.join(id, `order:cap-${i}`, holding(alice))).toBe(true);

      const refused = await settle(s.connections.join(id, 'order:cap-500', holding(alice)));
      const again = await s.connections.join(id, 'order:cap-7', holding(alice));
      const left = await s.connections.leave(id, 't1', 'order:cap-497');
      const afterLeave = await s.connections.join(id, 'order:cap-500', holding(alice));
      const fullAgain = await settle(s.connections.join(id, 'dispatch', holding(alice)));

      expect(refused.ok ? refused.value : refused.error).toBeInstanceOf(LimitExceededError);
      expect(refused).toMatchObject({ error: { code: 'LIMIT_EXCEEDED', details: { limit: 500 } } });
      expect([again, left, afterLeave]).toEqual([true, true, true]);
      expect(fullAgain.ok ? fullAgain.value : fullAgain.error).toBeInstanceOf(LimitExceededError);
      const rooms = (await s.connections.get(id))?.rooms ?? [];
      expect(rooms).toHaveLength(500);
      expect(rooms).toContain('order:cap-500');
      expect(rooms).not.toContain('order:cap-497');
      expect(await s.connections.members('t1', 'dispatch')).not.toContain(id);
    }, 60_000);

    it('renews the connection and every membership; an unknown connection is false', async () => {
      const id = freshId('renew');
      const rooms = [`order:${freshId('r')}`, 'dispatch'];
      const exp = nowSeconds() + 120;
      await s.connections.put(id, holding(alice, exp), new Date());
      for (const room of rooms) await s.connections.join(id, room, holding(alice, exp));

      expect(await s.connections.renew(id, exp + 600)).toBe(true);
      expect(await s.connections.renew('nobody', exp + 600)).toBe(false);
      expect(await s.connections.get(id)).toMatchObject({ exp: exp + 600 });
      for (const room of rooms) {
        expect((await s.connections.memberships('t1', room)).find((m) => m.connectionId === id)?.holder).toEqual({ principal: alice, exp: exp + 600 });
      }
      expect(await s.connections.get('nobody')).toBeNull();
    });

    it('removes a connection with every membership', async () => {
      const id = freshId('gone');
      await s.connections.put(id, holding(alice), new Date());
      const rooms = Array.from({ length: 30 }, (_, i) => `order:${id}-${i}`);
      for (const room of rooms) await s.connections.join(id, room, holding(alice));

      await s.connections.remove(id);
      await s.connections.remove('nobody');

      expect(await s.connections.get(id)).toBeNull();
      for (const room of rooms) expect(await s.connections.members('t1', room)).toEqual([]);
      expect(await s.connections.join(id, 'dispatch', holding(alice))).toBe(false);
    });
  });
});
