/**
 * Group commit against DynamoDB Local: transactions that meet in time share
 * one `TransactWriteItems`, yet each caller sees only its own outcome, items
 * are written in the order they were asked for, and nothing is half-written.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { OrdersService } from '../../shared/services/orders-service';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { GroupCommitter, MAX_GROUP_MEMBERS, type TransactItem } from '../../shared/store/group-commit';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { createTestTables, type TestTables } from '../support/tables';

let tables: TestTables;
let run = 0;
beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
});

const put = (pk: string, v: number): TransactItem => ({
  Put: { TableName: tables.orders, Item: { pk, sk: 'X', v }, ConditionExpression: 'attribute_not_exists(pk)' },
});
const bump = (pk: string, from: number, to: number): TransactItem => ({
  Update: {
    TableName: tables.orders,
    Key: { pk, sk: 'X' },
    UpdateExpression: 'SET v = :to',
    ConditionExpression: 'v = :from',
    ExpressionAttributeValues: { ':from': from, ':to': to },
  },
});
async function valueOf(pk: string): Promise<unknown> {
  const res = await tables.doc.send(new GetCommand({ TableName: tables.orders, Key: { pk, sk: 'X' }, ConsistentRead: true }));
  return res.Item?.v;
}

describe('GroupCommitter', () => {
  it('sends the first transaction at once and groups those that arrive while it is in flight', async () => {
    const tag = `g${++run}`;
    const committer = new GroupCommitter(tables.doc);
    const n = 1 + MAX_GROUP_MEMBERS + 7;
    await Promise.all(Array.from({ length: n }, (_, i) => committer.commit([put(`${tag}-${i}`, i), put(`${tag}-${i}-b`, i)])));
    // One alone, then a full group of 16, then the 7 left.
    expect(committer.stats()).toEqual({ transactions: 3, committed: n, grouped: 2 });
    for (let i = 0; i < n; i++) {
      expect(await valueOf(`${tag}-${i}`)).toBe(i);
      expect(await valueOf(`${tag}-${i}-b`)).toBe(i);
    }
  });

  it('rejects only the member whose condition failed, with its own reasons, and commits the others', async () => {
    const tag = `g${++run}`;
    const committer = new GroupCommitter(tables.doc);
    await committer.commit([put(`${tag}-taken`, 0)]);
    const blocker = committer.commit([put(`${tag}-first`, 1)]);
    const a = committer.commit([put(`${tag}-a`, 1), put(`${tag}-a2`, 1)]);
    const b = committer.commit([put(`${tag}-b`, 1), put(`${tag}-taken`, 1)]);
    const c = committer.commit([put(`${tag}-c`, 1)]);
    const outcomes = await Promise.allSettled([blocker, a, b, c]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const err = (outcomes[2] as PromiseRejectedResult).reason as unknown;
    expect(err).toBeInstanceOf(TransactionCanceledException);
    expect((err as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(await valueOf(`${tag}-a`)).toBe(1);
    expect(await valueOf(`${tag}-a2`)).toBe(1);
    expect(await valueOf(`${tag}-c`)).toBe(1);
    expect(await valueOf(`${tag}-b`)).toBeUndefined();
    expect(await valueOf(`${tag}-taken`)).toBe(0);
    // A group holding b was cancelled, and a second group carried a and c (with the blocker, if it had to wait).
    expect(committer.stats()).toMatchObject({ committed: 4, grouped: 2 });
  });

  it('never puts two writes to one item in a group, and keeps them in the order asked', async () => {
    const tag = `g${++run}`;
    const committer = new GroupCommitter(tables.doc);
    const blocker = committer.commit([put(`${tag}-blocker`, 1)]);
    const writes = [
      committer.commit([put(`${tag}-x`, 1)]),
      committer.commit([bump(`${tag}-x`, 1, 2), put(`${tag}-y`, 1)]),
      committer.commit([put(`${tag}-z`, 1)]),
      committer.commit([bump(`${tag}-x`, 2, 3)]),
    ];
    await Promise.all([blocker, ...writes]);
    expect(await valueOf(`${tag}-x`)).toBe(3);
    expect(await valueOf(`${tag}-y`)).toBe(1);
    expect(await valueOf(`${tag}-z`)).toBe(1);
  });

  it('a group that fails for another reason sends each member alone, so only the bad one fails', async () => {
    const tag = `g${++run}`;
    const committer = new GroupCommitter(tables.doc);
    const blocker = committer.commit([put(`${tag}-blocker`, 1)]);
    const good = committer.commit([put(`${tag}-good`, 1)]);
    // Over DynamoDB's 400 KB item limit: a ValidationException for the whole call.
    const bad = committer.commit([{ Put: { TableName: tables.orders, Item: { pk: `${tag}-bad`, sk: 'X', v: 'x'.repeat(410_000) } } }]);
    const later = committer.commit([put(`${tag}-later`, 1)]);
    const outcomes = await Promise.allSettled([blocker, good, bad, later]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(((outcomes[2] as PromiseRejectedResult).reason as Error).name).toBe('ValidationException');
    expect(await valueOf(`${tag}-good`)).toBe(1);
    expect(await valueOf(`${tag}-later`)).toBe(1);
    expect(await valueOf(`${tag}-bad`)).toBeUndefined();
  });

  it('refuses an empty transaction or one over 100 items without sending it', async () => {
    const committer = new GroupCommitter(tables.doc);
    await expect(committer.commit([])).rejects.toBeInstanceOf(RangeError);
    await expect(committer.commit(Array.from({ length: 101 }, (_, i) => put(`over-${i}`, i)))).rejects.toBeInstanceOf(RangeError);
    expect(committer.stats().transactions).toBe(0);
  });
});

describe('appends through group commit', () => {
  const retailer: Principal = { tenant: 'grouped', role: 'retailer', sub: 'r', retailerId: 'r1' };
  const dispatcher: Principal = { tenant: 'grouped', role: 'dispatcher', sub: 'disp' };
  const driver: Principal = { tenant: 'grouped', role: 'driver', sub: 'd1' };

  it('many drivers posting at once to many orders: every post stored once, seqs gapless per order, fewer transactions than posts', async () => {
    const store = new DynamoOrderStore(tables.doc, tables.orders, { groupCommit: true });
    const service = new OrdersService({ orders: store, policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
    const orders = Array.from({ length: 12 }, (_, i) => `grp-${++run}-${i}`);
    for (const orderId of orders) {
      await service.create(retailer, { orderId, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
      await service.assign(dispatcher, orderId, driver.sub);
    }
    const before = store.commitStats();
    const perOrder = 5;
    // One device time: the replays below are the same requests (CONTRACT §5), not new ones under used ids.
    const occurredAt = new Date().toISOString();
    const acks = await Promise.all(
      orders.flatMap((orderId) =>
        Array.from({ length: perOrder }, (_, k) =>
          service.checkpoint(driver, {
            action: 'checkpoint',
            eventId: `${orderId}-e${k}`,
            orderId,
            status: 'picked_up',
            occurredAt,
          }),
        ),
      ),
    );
    expect(acks.every((a) => a.duplicate === false)).toBe(true);
    const after = store.commitStats();
    expect(after.committed - before.committed).toBe(orders.length * perOrder);
    expect(after.transactions - before.transactions).toBeLessThan(orders.length * perOrder);
    expect(after.grouped - before.grouped).toBeGreaterThan(0);
    for (const orderId of orders) {
      const seqs = (await service.timeline(dispatcher, orderId)).items.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: 2 + perOrder }, (_, i) => i + 1));
    }
    // Replaying all of them stores nothing more.
    const replays = await Promise.all(
      orders.map((orderId) =>
        service.checkpoint(driver, { action: 'checkpoint', eventId: `${orderId}-e0`, orderId, status: 'picked_up', occurredAt }),
      ),
    );
    expect(replays.map((r) => [r.duplicate, r.seq])).toEqual(orders.map(() => [true, 3]));
  });

  it('without groupCommit (the default, as in a Lambda), the store sends every post in a transaction of its own', async () => {
    const store = new DynamoOrderStore(tables.doc, tables.orders);
    const service = new OrdersService({ orders: store, policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
    const orders = Array.from({ length: 8 }, (_, i) => `direct-${++run}-${i}`);
    for (const orderId of orders) {
      await service.create(retailer, { orderId, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
      await service.assign(dispatcher, orderId, driver.sub);
    }
    const before = store.commitStats();
    const occurredAt = new Date().toISOString();
    const acks = await Promise.all(
      orders.flatMap((orderId) =>
        Array.from({ length: 3 }, (_, k) =>
          service.checkpoint(driver, { action: 'checkpoint', eventId: `${orderId}-e${k}`, orderId, status: 'picked_up', occurredAt }),
        ),
      ),
    );
    expect(acks.every((a) => a.duplicate === false)).toBe(true);
    const after = store.commitStats();
    expect(after.committed - before.committed).toBe(orders.length * 3);
    expect(after.transactions - before.transactions).toBe(orders.length * 3);
    expect(after.grouped - before.grouped).toBe(0);
  });
});
