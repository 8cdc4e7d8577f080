/**
 * The order store against DynamoDB Local: one write per event, no gaps, no
 * duplicates, nothing stored for a refused request.
 */
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
import { orderView } from '../../shared/domain/orders';
import { requestDigest } from '../../shared/domain/request-digest';
import type { CheckpointFrame, CreateOrderBody, MessageFrame } from '../../shared/domain/schemas';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { OrdersService } from '../../shared/services/orders-service';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { keys } from '../../shared/store/tables';
import { createTestTables, type TestTables } from '../support/tables';

const dispatcher: Principal = { tenant: 'acme-co', role: 'dispatcher', sub: 'disp' };
const driver: Principal = { tenant: 'acme-co', role: 'driver', sub: 'drv-1' };
const retailer: Principal = { tenant: 'acme-co', role: 'retailer', sub: 'ret', retailerId: 'r1' };

let tables: TestTables;
let store: DynamoOrderStore;
let service: OrdersService;
let n = 0;

const body = (orderId: string): CreateOrderBody => ({
  orderId,
  retailerId: 'r1',
  recipient: { name: 'Ada', phone: '+15550100111' },
  destination: { address: '1 Main St' },
});

async function newAssignedOrder(): Promise<string> {
  const orderId = `o-${++n}-${Date.now()}`;
  await service.create(retailer, body(orderId));
  await service.assign(dispatcher, orderId, driver.sub);
  return orderId;
}

/** One device time for the file: a checkpoint built twice with the same arguments is the same request (a replay). */
const OCCURRED_AT = new Date().toISOString();

function cp(orderId: string, status: 'picked_up' | 'in_transit' | 'at_hub', eventId: string): CheckpointFrame {
  return { action: 'checkpoint', eventId, orderId, status, occurredAt: OCCURRED_AT };
}

/** Every item stored under the order, by kind of key. */
async function itemsOf(orderId: string) {
  const res = await tables.doc.send(
    new QueryCommand({
      TableName: tables.orders,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.order(dispatcher.tenant, orderId) },
      ConsistentRead: true,
    }),
  );
  const items = res.Items ?? [];
  return {
    events: items.filter((i) => (i.sk as string).startsWith('E#')),
    ids: items.filter((i) => (i.sk as string).startsWith('ID#')),
    head: items.find((i) => i.sk === 'HEAD'),
  };
}

beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
  store = new DynamoOrderStore(tables.doc, tables.orders);
  service = new OrdersService({ orders: store, policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
});

describe('DynamoOrderStore', () => {
  it('stores a new order with its created event at seq 1', async () => {
    const orderId = `o-create-${Date.now()}`;
    const { created, order } = await service.create(retailer, body(orderId));
    expect(created).toBe(true);
    expect(order).toMatchObject({ orderId, status: 'created', headSeq: 1 });
    const { events, head } = await itemsOf(orderId);
    expect(events.map((e) => e.event.seq)).toEqual([1]);
    expect(head?.headSeq).toBe(1);
  });

  it('answers a repeated create with the stored order and a different body with CONFLICT', async () => {
    const orderId = `o-again-${Date.now()}`;
    await service.create(retailer, body(orderId));
    const again = await service.create(retailer, body(orderId));
    expect(again.created).toBe(false);
    await expect(service.create(retailer, { ...body(orderId), destination: { address: 'elsewhere' } })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect((await itemsOf(orderId)).events).toHaveLength(1);
  });

  it('replays an eventId as a duplicate with the original seq, storing nothing', async () => {
    const orderId = await newAssignedOrder();
    const first = await service.checkpoint(driver, cp(orderId, 'picked_up', 'ev-1'));
    const again = await service.checkpoint(driver, cp(orderId, 'picked_up', 'ev-1'));
    expect(first).toEqual({ orderId, seq: 3, status: 'picked_up', duplicate: false, applied: true });
    expect(again).toEqual({ orderId, seq: 3, status: 'picked_up', duplicate: true, applied: true });
    const { events, ids, head } = await itemsOf(orderId);
    expect(events).toHaveLength(3);
    expect(ids).toHaveLength(1);
    expect(head?.headSeq).toBe(3);
  });

  it('acks a replay as a duplicate even when the status has moved on since', async () => {
    const orderId = await newAssignedOrder();
    await service.checkpoint(driver, cp(orderId, 'picked_up', 'q-1'));
    await service.checkpoint(driver, cp(orderId, 'at_hub', 'q-2'));
    // picked_up again would be illegal from at_hub, but it is the same, stored checkpoint
    const replay = await service.checkpoint(driver, cp(orderId, 'picked_up', 'q-1'));
    expect(replay).toMatchObject({ seq: 3, duplicate: true, status: 'picked_up' });
  });

  it('keeps the device time of the status on the head and decides late checkpoints on it, from memory and from a fresh read', async () => {
    const orderId = await newAssignedOrder();
    const t = Date.now();
    const at = (secondsAgo: number) => new Date(t - secondsAgo * 1000).toISOString();
    const other = new OrdersService({ orders: new DynamoOrderStore(tables.doc, tables.orders), policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
    await service.checkpoint(driver, { ...cp(orderId, 'picked_up', 'l-1'), occurredAt: at(60) });
    expect(await service.checkpoint(driver, { ...cp(orderId, 'at_hub', 'l-2'), occurredAt: at(10), location: { lat: 52, lng: 0.1 } })).toEqual({
      orderId,
      seq: 4,
      status: 'at_hub',
      duplicate: false,
      applied: true,
    });
    const stored = (await itemsOf(orderId)).head!;
    expect(stored.statusOccurredAt).toBe(at(10));
    // Read back by a store that never wrote it (HEAD_FIELDS).
    expect((await new DynamoOrderStore(tables.doc, tables.orders).getOrder(dispatcher.tenant, orderId))?.statusOccurredAt).toBe(at(10));

    // Late, decided on this process's remembered head (applyChange) ...
    const late = await service.checkpoint(driver, { ...cp(orderId, 'in_transit', 'l-3'), occurredAt: at(30), location: { lat: 1, lng: 1 } });
    // ... and on a head read fresh by another process; even a status at_hub could never move to.
    const illegalLate = await other.checkpoint(driver, { ...cp(orderId, 'picked_up', 'l-4'), occurredAt: at(20) });
    expect(late).toEqual({ orderId, seq: 5, status: 'at_hub', duplicate: false, applied: false });
    expect(illegalLate).toEqual({ orderId, seq: 6, status: 'at_hub', duplicate: false, applied: false });
    const after = await itemsOf(orderId);
    for (const field of ['status', 'statusSince', 'statusOccurredAt', 'dueAt', 'dueShard', 'lastLocation', 'pickedUpAt']) {
      expect(after.head?.[field], field).toEqual(stored[field]);
    }
    expect(after.head?.headSeq).toBe(6);
    expect(after.events.slice(-2).map((e) => [e.event.status, e.event.late, e.event.statusChanged])).toEqual([
      ['in_transit', true, false],
      ['picked_up', true, false],
    ]);
    expect(after.ids.find((i) => i.sk === keys.idempotency('l-3'))).toMatchObject({ seq: 5, status: 'at_hub', applied: false });

    // A replay acks as the original did, from either process.
    expect(await other.checkpoint(driver, { ...cp(orderId, 'in_transit', 'l-3'), occurredAt: at(30), location: { lat: 1, lng: 1 } })).toEqual({
      ...late,
      duplicate: true,
    });
    // A progress update is applied and keeps the status's device time.
    expect(await service.checkpoint(driver, { ...cp(orderId, 'at_hub', 'l-5'), occurredAt: at(5) })).toMatchObject({ seq: 7, applied: true });
    expect((await itemsOf(orderId)).head?.statusOccurredAt).toBe(at(10));
  });

  it('stores nothing for a checkpoint whose occurredAt is out of bounds', async () => {
    const orderId = await newAssignedOrder();
    const before = await itemsOf(orderId);
    const ahead = new Date(Date.now() + 6 * 60_000).toISOString();
    const behind = new Date(Date.now() - 8 * 86_400_000).toISOString();
    for (const occurredAt of [ahead, behind]) {
      await expect(service.checkpoint(driver, { ...cp(orderId, 'picked_up', `b-${occurredAt}`), occurredAt })).rejects.toMatchObject({
        code: 'VALIDATION',
        details: { issues: [{ field: 'occurredAt' }] },
      });
    }
    const after = await itemsOf(orderId);
    expect(after.events).toHaveLength(before.events.length);
    expect(after.ids).toHaveLength(0);
    expect(after.head).toEqual(before.head);
  });

  it('stores nothing for an illegal transition', async () => {
    const orderId = await newAssignedOrder();
    const before = await itemsOf(orderId);
    await expect(service.checkpoint(driver, cp(orderId, 'in_transit', 'bad-1'))).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    const after = await itemsOf(orderId);
    expect(after.events).toHaveLength(before.events.length);
    expect(after.ids).toHaveLength(0);
    expect(after.head).toEqual(before.head);
  });

  it('stores nothing for a forbidden checkpoint', async () => {
    const orderId = await newAssignedOrder();
    const stranger: Principal = { tenant: 'acme-co', role: 'driver', sub: 'drv-2' };
    await expect(service.checkpoint(stranger, cp(orderId, 'picked_up', 'f-1'))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await itemsOf(orderId)).events).toHaveLength(2);
  });

  it('gives 5 writers x 20 posts on one order gapless, unique seqs', async () => {
    const orderId = await newAssignedOrder();
    await service.checkpoint(driver, cp(orderId, 'picked_up', 'w-start'));
    const writers = Array.from({ length: 5 }, (_, w) =>
      (async () => {
        const seqs: number[] = [];
        for (let i = 0; i < 20; i++) {
          const ack =
            i % 2 === 0
              ? await service.checkpoint(driver, { ...cp(orderId, 'picked_up', `w${w}-${i}`), note: `writer ${w} post ${i}` })
              : await service.message(driver, { action: 'message', messageId: `w${w}-${i}`, orderId, text: `writer ${w} says ${i}` });
          expect(ack.duplicate).toBe(false);
          seqs.push(ack.seq);
        }
        return seqs;
      })(),
    );
    const acked = (await Promise.all(writers)).flat();
    // seq 1 created, 2 assigned, 3 picked_up: the 100 posts take 4..103
    expect([...acked].sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => i + 4));
    const { events, head } = await itemsOf(orderId);
    expect(events.map((e) => e.event.seq)).toEqual(Array.from({ length: 103 }, (_, i) => i + 1));
    expect(head?.headSeq).toBe(103);
  });

  it('stores one event when the same eventId races from two writers', async () => {
    const orderId = await newAssignedOrder();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => service.checkpoint(driver, cp(orderId, 'picked_up', 'same-id'))),
    );
    expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
    expect(new Set(results.map((r) => r.seq))).toEqual(new Set([3]));
    expect((await itemsOf(orderId)).events).toHaveLength(3);
  });

  it('records a read mark once, and not again for a lower or equal seq', async () => {
    const orderId = await newAssignedOrder();
    expect(await service.read(retailer, orderId, 2)).toEqual({ orderId, seq: 2 });
    expect(await service.read(retailer, orderId, 1)).toEqual({ orderId, seq: 2 });
    const { events } = await itemsOf(orderId);
    expect(events.map((e) => e.event.kind)).toEqual(['created', 'assigned', 'read']);
    await expect(service.read(retailer, orderId, 99)).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('lists orders by scope, newest first, with a working cursor', async () => {
    const tenant = `list-${Date.now()}`;
    const d: Principal = { ...dispatcher, tenant };
    const r1: Principal = { ...retailer, tenant };
    const r2: Principal = { tenant, role: 'retailer', sub: 'ret2', retailerId: 'r2' };
    for (let i = 0; i < 5; i++) await service.create(i < 3 ? r1 : r2, { ...body(`L${i}`), retailerId: i < 3 ? 'r1' : 'r2' });
    await service.assign(d, 'L1', 'drv-9');

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await service.list(d, { limit: 2, ...(cursor !== undefined && { cursor }) });
      seen.push(...page.orders.map((o) => o.orderId));
      cursor = page.cursor;
    } while (cursor !== undefined);
    expect(seen).toEqual(['L4', 'L3', 'L2', 'L1', 'L0']);
    expect((await service.list(r1, {})).orders.map((o) => o.orderId)).toEqual(['L2', 'L1', 'L0']);
    expect((await service.list(d, { retailerId: 'r2' })).orders.map((o) => o.orderId)).toEqual(['L4', 'L3']);
    const drv: Principal = { tenant, role: 'driver', sub: 'drv-9' };
    expect((await service.list(drv, {})).orders.map((o) => o.orderId)).toEqual(['L1']);
    expect((await service.list(d, { status: 'picked_up' })).orders).toEqual([]);
  });

  it('keeps tenants apart: the same order id in another tenant is another order', async () => {
    const orderId = `shared-id-${Date.now()}`;
    await service.create(retailer, body(orderId));
    const other: Principal = { tenant: 'other-co', role: 'dispatcher', sub: 'x' };
    await expect(service.get(other, orderId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(service.checkpoint(other, cp(orderId, 'picked_up', 'x-1'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('decides on the real head when another process moved it (two stores, as two Lambda containers)', async () => {
    const orderId = await newAssignedOrder();
    const other = new OrdersService({ orders: new DynamoOrderStore(tables.doc, tables.orders), policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
    // This process remembers the head at picked_up ...
    expect(await service.checkpoint(driver, cp(orderId, 'picked_up', 'p-1'))).toMatchObject({ seq: 3 });
    // ... then another process moves the order on.
    expect(await other.checkpoint(driver, { ...cp(orderId, 'at_hub', 'p-2') })).toMatchObject({ seq: 4 });
    expect(await other.checkpoint(driver, { ...cp(orderId, 'picked_up', 'p-x'), status: 'out_for_delivery' })).toMatchObject({ seq: 5 });
    // From the stale memory in_transit would look legal (picked_up -> in_transit); on the real head it is not.
    await expect(service.checkpoint(driver, cp(orderId, 'in_transit', 'p-3'))).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION' });
    // A replay of an old post is still a duplicate, and a legal post gets the next seq.
    expect(await service.checkpoint(driver, cp(orderId, 'picked_up', 'p-1'))).toMatchObject({ seq: 3, duplicate: true });
    expect(await service.message(driver, { action: 'message', messageId: 'p-4', orderId, text: 'here' })).toMatchObject({ seq: 6, duplicate: false });
    expect(await other.message(driver, { action: 'message', messageId: 'p-5', orderId, text: 'there' })).toMatchObject({ seq: 7 });
    const { events, head } = await itemsOf(orderId);
    expect(events.map((e) => e.event.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(head?.status).toBe('out_for_delivery');
  });
});

/** What a promise settled to: the value, or the error's code. */
async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: unknown }> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, code: (err as { code?: unknown }).code };
  }
}

/** A second OrdersService on its own store: another Lambda container, with no memory or lanes shared with `service`. */
function otherProcess(): OrdersService {
  return new OrdersService({
    orders: new DynamoOrderStore(tables.doc, tables.orders),
    policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY),
  });
}

describe('one id, one request (CONTRACT §5)', () => {
  it('stores the digest of the request (without reqId) with its idempotency key', async () => {
    const orderId = await newAssignedOrder();
    const frame: CheckpointFrame = { ...cp(orderId, 'picked_up', 'dg-1'), reqId: 'req-1', note: 'at the dock' };
    await service.checkpoint(driver, frame);
    const { ids } = await itemsOf(orderId);
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatchObject({ sk: 'ID#dg-1', kind: 'checkpoint', seq: 3, by: driver.sub });
    expect(ids[0]!.digest).toBe(requestDigest('checkpoint', frame));
    // reqId is not part of it: the digest of the same request with another reqId is the same.
    expect(ids[0]!.digest).toBe(requestDigest('checkpoint', { ...frame, reqId: 'req-2' }));
  });

  it("refuses a checkpoint under a message's id with CONFLICT and stores nothing (the issue's scenario)", async () => {
    const orderId = await newAssignedOrder();
    const message: MessageFrame = { action: 'message', messageId: 'X', orderId, text: 'On my way' };
    expect(await service.message(driver, message)).toEqual({ orderId, seq: 3, duplicate: false });
    const before = await itemsOf(orderId);
    await expect(service.checkpoint(driver, cp(orderId, 'picked_up', 'X'))).rejects.toMatchObject({ code: 'CONFLICT' });
    // The other way round too.
    expect(await service.checkpoint(driver, cp(orderId, 'picked_up', 'Y'))).toMatchObject({ seq: 4, duplicate: false });
    await expect(service.message(driver, { ...message, messageId: 'Y' })).rejects.toMatchObject({ code: 'CONFLICT' });
    const after = await itemsOf(orderId);
    expect(after.events.map((e) => e.event.seq)).toEqual([1, 2, 3, 4]);
    expect(after.ids.map((i) => [i.sk, i.kind])).toEqual([
      ['ID#X', 'message'],
      ['ID#Y', 'checkpoint'],
    ]);
    expect(after.head?.status).toBe('picked_up');
    expect(before.head?.status).toBe('created');
    // The true replay of the message is still a duplicate.
    expect(await service.message(driver, { ...message, reqId: 'again' })).toEqual({ orderId, seq: 3, duplicate: true });
  });

  it('answers a key stored before digests existed by kind alone, as before', async () => {
    const orderId = await newAssignedOrder();
    await service.checkpoint(driver, cp(orderId, 'picked_up', 'old-1'));
    // What a key written by the previous version looks like: no digest.
    await tables.doc.send(
      new UpdateCommand({ TableName: tables.orders, Key: { pk: keys.order(driver.tenant, orderId), sk: keys.idempotency('old-1') }, UpdateExpression: 'REMOVE digest' }),
    );
    expect(await service.checkpoint(driver, { ...cp(orderId, 'picked_up', 'old-1'), note: 'cannot be compared' })).toMatchObject({
      seq: 3,
      duplicate: true,
    });
    await expect(service.message(driver, { action: 'message', messageId: 'old-1', orderId, text: 'hi' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    expect((await itemsOf(orderId)).events).toHaveLength(3);
  });

  it('two different requests under one id at once, from two processes: one stored, the other CONFLICT, nothing else stored', async () => {
    for (let round = 0; round < 6; round++) {
      const orderId = await newAssignedOrder();
      const a = { ...cp(orderId, 'picked_up', 'race'), note: 'from A' };
      const b = { ...cp(orderId, 'picked_up', 'race'), note: 'from B' };
      const results = await Promise.all([settle(service.checkpoint(driver, a)), settle(otherProcess().checkpoint(driver, b))]);
      const stored = results.filter((r) => r.ok);
      expect(stored).toHaveLength(1);
      expect(stored[0]).toMatchObject({ value: { seq: 3, duplicate: false } });
      expect(results.filter((r) => !r.ok)).toEqual([{ ok: false, code: 'CONFLICT' }]);
      const { events, ids, head } = await itemsOf(orderId);
      expect(events).toHaveLength(3);
      expect(ids).toHaveLength(1);
      expect(head?.headSeq).toBe(3);
      // What is stored is the winner's request, and its key carries the winner's digest.
      const winner = results[0].ok ? a : b;
      expect(events[2]!.event.note).toBe(winner.note);
      expect(ids[0]!.digest).toBe(requestDigest('checkpoint', winner));
    }
    // The same request racing (another reqId is still the same request): stored once, the other a duplicate.
    const orderId = await newAssignedOrder();
    const frame = cp(orderId, 'picked_up', 'twin');
    const acks = await Promise.all([service.checkpoint(driver, frame), otherProcess().checkpoint(driver, { ...frame, reqId: 'other' })]);
    expect(acks.map((a) => a.duplicate).sort()).toEqual([false, true]);
    expect(acks.map((a) => a.seq)).toEqual([3, 3]);
    expect((await itemsOf(orderId)).events).toHaveLength(3);
  });

  it('a message and a checkpoint racing for one id, in one process and across two: one stored, the other CONFLICT', async () => {
    for (const [label, second] of [
      ['one process', () => service],
      ['two processes', otherProcess],
    ] as const) {
      const orderId = await newAssignedOrder();
      const results = await Promise.all([
        settle(service.message(driver, { action: 'message', messageId: 'both', orderId, text: 'hello' })),
        settle(second().checkpoint(driver, cp(orderId, 'picked_up', 'both'))),
      ]);
      expect(results.filter((r) => r.ok), label).toHaveLength(1);
      expect(results.filter((r) => !r.ok), label).toEqual([{ ok: false, code: 'CONFLICT' }]);
      const { events, ids } = await itemsOf(orderId);
      expect(events, label).toHaveLength(3);
      expect(ids, label).toHaveLength(1);
    }
  });

  it('tells a used id to nobody who may not see the order: FORBIDDEN, not CONFLICT', async () => {
    const orderId = await newAssignedOrder();
    await service.checkpoint(driver, cp(orderId, 'picked_up', 'secret-id'));
    const stranger: Principal = { tenant: 'acme-co', role: 'driver', sub: 'drv-2' };
    await expect(service.checkpoint(stranger, { ...cp(orderId, 'picked_up', 'secret-id'), note: 'other' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(service.message(stranger, { action: 'message', messageId: 'secret-id', orderId, text: 'x' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    // Someone who may see the order and sends another request under the id: CONFLICT.
    await expect(service.checkpoint(dispatcher, { ...cp(orderId, 'picked_up', 'secret-id'), note: 'other' })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    // ... and the same request: a duplicate (the request is its fields; see README).
    expect(await service.checkpoint(dispatcher, cp(orderId, 'picked_up', 'secret-id'))).toMatchObject({ seq: 3, duplicate: true });
    expect((await itemsOf(orderId)).events).toHaveLength(3);
  });
});

describe('read marks keyed by sub', () => {
  it("keeps a `__proto__` reader's mark through DynamoDB and back, and in the order as sent", async () => {
    const orderId = await newAssignedOrder();
    const proto: Principal = { tenant: 'acme-co', role: 'dispatcher', sub: '__proto__' };
    const ctor: Principal = { tenant: 'acme-co', role: 'dispatcher', sub: 'constructor' };
    expect(await service.read(proto, orderId, 2)).toEqual({ orderId, seq: 2 });
    expect(await service.read(ctor, orderId, 1)).toEqual({ orderId, seq: 1 });

    // Read back by a process that never saw the write.
    const fresh = new DynamoOrderStore(tables.doc, tables.orders);
    const head = await fresh.getOrder('acme-co', orderId);
    expect(head).not.toBeNull();
    expect(Object.hasOwn(head!.readMarks, '__proto__')).toBe(true);
    expect(Object.entries(head!.readMarks).sort()).toEqual([
      ['__proto__', 2],
      ['constructor', 1],
    ]);
    // The JSON a client receives carries it.
    const sent = JSON.parse(JSON.stringify({ order: orderView(dispatcher, head!) })) as { order: { readMarks: object } };
    expect(Object.entries(sent.order.readMarks).sort()).toEqual([
      ['__proto__', 2],
      ['constructor', 1],
    ]);
    expect(JSON.parse(JSON.stringify((await otherProcess().get(dispatcher, orderId)).readMarks))).toEqual(
      JSON.parse('{"__proto__":2,"constructor":1}'),
    );

    // A read at or below the mark changes nothing and acks the mark (a number, not an object), in either process.
    for (const s of [service, otherProcess()]) {
      expect(await s.read(proto, orderId, 1)).toEqual({ orderId, seq: 2 });
      expect(await s.read(ctor, orderId, 1)).toEqual({ orderId, seq: 1 });
    }
    const { events } = await itemsOf(orderId);
    expect(events.map((e) => e.event.kind)).toEqual(['created', 'assigned', 'read', 'read']);
    const raw = await tables.doc.send(new GetCommand({ TableName: tables.orders, Key: { pk: keys.order('acme-co', orderId), sk: keys.head } }));
    expect(raw.Item?.headSeq).toBe(4);
  });
});
