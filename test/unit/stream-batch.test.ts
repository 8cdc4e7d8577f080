/**
 * The stream batch processor with no DynamoDB: records of one order one after
 * another, orders side by side (bounded), the rest of an order failed after
 * its first failure, failures reported in stream order, and the filter. Also
 * the store's decoding of a timeline record.
 */
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { DEFAULT_STREAM_BATCH_CONCURRENCY, processStreamBatch } from '../../shared/services/stream-batch';
import { isTimelineInsert, routedEventOf } from '../../shared/store/stream-records';
import { headModify, orderRemove, sequenceNumbersOf, timelineInsert } from '../support/stream-events';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const orderOf = (r: DynamoDBRecord) => routedEventOf(r).event.orderId;
const seqOf = (r: DynamoDBRecord) => routedEventOf(r).event.seq;
const label = (r: DynamoDBRecord) => `${orderOf(r)}:${seqOf(r)}`;

/** Records of several orders, interleaved as a shard would carry them: a1 b1 c1 a2 b2 c2 … */
function interleaved(orders: readonly string[], perOrder: number): DynamoDBRecord[] {
  const records: DynamoDBRecord[] = [];
  for (let seq = 1; seq <= perOrder; seq++) for (const orderId of orders) records.push(timelineInsert({ orderId, seq }));
  return records;
}

describe('processStreamBatch', () => {
  it("handles one order's records one after another, in stream order, each once", async () => {
    const records = interleaved(['a', 'b'], 4);
    const log: string[] = [];
    const inFlight = new Set<string>();
    const result = await processStreamBatch(records, async (r) => {
      const order = orderOf(r);
      expect(inFlight.has(order)).toBe(false);
      inFlight.add(order);
      log.push(`start ${label(r)}`);
      // Later records finish sooner: only waiting for each one keeps the order.
      await sleep(12 - 2 * seqOf(r));
      log.push(`end ${label(r)}`);
      inFlight.delete(order);
    });
    expect(result).toEqual({ batchItemFailures: [] });
    for (const order of ['a', 'b']) {
      expect(log.filter((l) => l.includes(` ${order}:`))).toEqual([1, 2, 3, 4].flatMap((s) => [`start ${order}:${s}`, `end ${order}:${s}`]));
    }
  });

  it('handles different orders side by side', async () => {
    const records = [timelineInsert({ orderId: 'a' }), timelineInsert({ orderId: 'b' })];
    let bStarted!: () => void;
    const b = new Promise<void>((resolve) => (bStarted = resolve));
    const handled: string[] = [];
    await processStreamBatch(records, async (r) => {
      if (orderOf(r) === 'a') {
        // Finishes only once b has started: a sequential processor would fail here.
        await Promise.race([b, sleep(1000).then(() => Promise.reject(new Error('b did not start while a was running')))]);
      } else bStarted();
      handled.push(orderOf(r));
    }).then((res) => expect(res.batchItemFailures).toEqual([]));
    expect(handled).toEqual(['b', 'a']);
  });

  it.each([
    ['the default', undefined, DEFAULT_STREAM_BATCH_CONCURRENCY],
    ['concurrency 3', 3, 3],
  ])('runs at most so many orders at a time (%s)', async (_name, concurrency, expected) => {
    const orders = Array.from({ length: 24 }, (_, i) => `o${i}`);
    const records = interleaved(orders, 2);
    let running = 0;
    let peak = 0;
    const handled: string[] = [];
    await processStreamBatch(
      records,
      async (r) => {
        running++;
        peak = Math.max(peak, running);
        await sleep(2);
        running--;
        handled.push(label(r));
      },
      concurrency === undefined ? {} : { concurrency },
    );
    expect(peak).toBe(expected);
    expect(handled.sort()).toEqual(records.map(label).sort());
  });

  it("fails the rest of an order after its first failure and goes on with other orders", async () => {
    const records = interleaved(['a', 'b'], 4);
    const handled: string[] = [];
    const errors: [string, unknown][] = [];
    const boom = new Error('push failed');
    const result = await processStreamBatch(
      records,
      async (r) => {
        handled.push(label(r));
        if (label(r) === 'a:2') throw boom;
      },
      { onError: (r, err) => errors.push([label(r), err]) },
    );
    expect(handled.filter((l) => l.startsWith('a:'))).toEqual(['a:1', 'a:2']);
    expect(handled.filter((l) => l.startsWith('b:'))).toEqual(['b:1', 'b:2', 'b:3', 'b:4']);
    expect(errors).toEqual([['a:2', boom]]);
    const failedA = records.filter((r) => orderOf(r) === 'a' && seqOf(r) >= 2);
    expect(result.batchItemFailures).toEqual(sequenceNumbersOf(failedA).map((itemIdentifier) => ({ itemIdentifier })));
  });

  it('reports failures in stream order, not in the order they happened', async () => {
    // a fails late, b fails at once: by completion b's records would come first.
    const records = interleaved(['a', 'b', 'c'], 2);
    const result = await processStreamBatch(records, async (r) => {
      if (orderOf(r) === 'a') {
        await sleep(20);
        throw new Error('a is down');
      }
      if (orderOf(r) === 'b') throw new Error('b is down');
    });
    const failed = records.filter((r) => orderOf(r) !== 'c');
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(sequenceNumbersOf(failed));
  });

  it('a rejection that is not an Error still fails the record', async () => {
    const records = [timelineInsert({ orderId: 'a', seq: 1 }), timelineInsert({ orderId: 'a', seq: 2 })];
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the point: a handler rejecting with a non-Error
    const result = await processStreamBatch(records, (r) => (seqOf(r) === 1 ? Promise.reject('nope') : Promise.resolve()));
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(sequenceNumbersOf(records));
  });

  it('skips records the filter refuses, without handling or reporting them', async () => {
    const insert1 = timelineInsert({ orderId: 'a', seq: 1 });
    const modify = headModify({ orderId: 'a' });
    const removed = orderRemove({ orderId: 'a' });
    const insert2 = timelineInsert({ orderId: 'a', seq: 2 });
    const records = [insert1, modify, removed, insert2];
    const handled: DynamoDBRecord[] = [];
    const result = await processStreamBatch(
      records,
      async (r) => {
        handled.push(r);
        throw new Error('fails every record it is given');
      },
      { filter: isTimelineInsert },
    );
    expect(handled).toEqual([insert1]);
    expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(sequenceNumbersOf([insert1, insert2]));
  });

  it('without a filter, handles every record, grouped by partition key', async () => {
    const records = [timelineInsert({ orderId: 'a', seq: 1 }), headModify({ orderId: 'a' }), orderRemove({ orderId: 'b' })];
    const handled: DynamoDBRecord[] = [];
    const result = await processStreamBatch(records, async (r) => {
      handled.push(r);
    });
    expect(result.batchItemFailures).toEqual([]);
    expect(new Set(handled)).toEqual(new Set(records));
  });

  it('an empty batch reports nothing and handles nothing', async () => {
    let calls = 0;
    expect(await processStreamBatch([], async () => calls++)).toEqual({ batchItemFailures: [] });
    expect(calls).toBe(0);
  });
});

describe('timeline records (the store mapping)', () => {
  it('tells timeline inserts from other records', () => {
    expect(isTimelineInsert(timelineInsert())).toBe(true);
    expect(isTimelineInsert(headModify())).toBe(false);
    expect(isTimelineInsert(orderRemove())).toBe(false);
  });

  it('decodes the routed event of a timeline insert', () => {
    const routed = routedEventOf(timelineInsert({ tenant: 't1', orderId: 'o-9', seq: 7, retailerId: 'r-2', driverId: 'd-3', roomEpoch: 4 }));
    expect(routed).toMatchObject({ tenant: 't1', retailerId: 'r-2', driverId: 'd-3', roomEpoch: 4 });
    expect(routed.event).toMatchObject({ orderId: 'o-9', seq: 7, kind: 'message', text: 'message 7' });
  });

  it('refuses a record without a new image', () => {
    expect(() => routedEventOf(orderRemove())).toThrow(/NewImage/);
  });
});
