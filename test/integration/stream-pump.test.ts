/**
 * The local stream pump on DynamoDB Local's real stream: timeline inserts
 * reach the handler in order; reported failures are retried in order and
 * nothing else is delivered twice. Consumers read the stream independently:
 * one failing until it dead-letters does not hold back another, and each gets
 * only what its filter lets through.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_REGION, streamArnOf } from '../../local/dynamodb';
import { StreamPump, type StreamConsumer } from '../../local/stream-pump';
import type { Principal } from '../../shared/domain/model';
import { createLogger } from '../../shared/runtime/log';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { OrdersService } from '../../shared/services/orders-service';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { routedEventOf, TIMELINE_INSERT_FILTER } from '../../shared/store/stream-records';
import { createTestTables, type TestTables } from '../support/tables';

const retailer: Principal = { tenant: 'p1', role: 'retailer', sub: 'r', retailerId: 'r1' };
const dispatcher: Principal = { tenant: 'p1', role: 'dispatcher', sub: 'd' };
const quiet = createLogger();

let tables: TestTables;
let service: OrdersService;
let streamArn: string;
let pump: StreamPump | undefined;

beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
  service = new OrdersService({ orders: new DynamoOrderStore(tables.doc, tables.orders), policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
  streamArn = await streamArnOf(tables.client, tables.orders);
});

afterEach(async () => {
  await pump?.stop();
  pump = undefined;
});

function startConsumers(consumers: readonly StreamConsumer[]) {
  const client = new DynamoDBStreamsClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: inject('dynamodbCredentials') });
  pump = new StreamPump({ client, streamArn, consumers, log: quiet, idleMs: 20 });
  return pump.start();
}

/** The pump as the runtime runs it: the fan-out's handler on timeline inserts. */
function startPump(handler: (e: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) {
  return startConsumers([{ name: 'fanout', filter: [TIMELINE_INSERT_FILTER], handler, maxRetries: 5 }]);
}

async function until(check: () => boolean, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function orderWithMessages(orderId: string, count: number) {
  await service.create(retailer, { orderId, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
  for (let i = 0; i < count; i++) await service.message(dispatcher, { action: 'message', messageId: `${orderId}-${i}`, orderId, text: `m${i}` });
}

describe('StreamPump', () => {
  it('delivers each timeline insert once, in seq order, and no other records', async () => {
    const seen: string[] = [];
    await startPump(async (e) => {
      for (const r of e.Records) {
        const { event } = routedEventOf(r);
        seen.push(`${event.orderId}:${event.seq}`);
      }
      return { batchItemFailures: [] };
    });
    await orderWithMessages('s-a', 5);
    await service.read(dispatcher, 's-a', 3); // a head update and a read event
    await until(() => seen.length >= 7);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['s-a:1', 's-a:2', 's-a:3', 's-a:4', 's-a:5', 's-a:6', 's-a:7']);
  });

  it('retries exactly the reported failures, in order, and sends nothing else twice', async () => {
    const calls: string[][] = [];
    const delivered: string[] = [];
    let failOnce = true;
    await startPump(async (e) => {
      const ids = e.Records.map((r) => `${routedEventOf(r).event.seq}`);
      calls.push(ids);
      const failures: { itemIdentifier: string }[] = [];
      for (const r of e.Records) {
        const seq = routedEventOf(r).event.seq;
        if (failOnce && seq === 3) {
          failOnce = false;
          // seq 3 fails; its successors in the same order must come back too
          const from = e.Records.indexOf(r);
          failures.push(...e.Records.slice(from).map((x) => ({ itemIdentifier: x.dynamodb?.SequenceNumber ?? '' })));
          break;
        }
        delivered.push(`${seq}`);
      }
      return { batchItemFailures: failures };
    });
    await service.create(retailer, { orderId: 's-b', retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
    // one transaction batch: write several quickly so they can share a batch
    for (let i = 0; i < 4; i++) await service.message(dispatcher, { action: 'message', messageId: `b-${i}`, orderId: 's-b', text: 't' });
    await until(() => delivered.length >= 5);
    await new Promise((r) => setTimeout(r, 200));
    expect(delivered).toEqual(['1', '2', '3', '4', '5']);
    expect(failOnce).toBe(false);
  });

  it('dead-letters records that keep failing, and goes on with later ones', async () => {
    const delivered: number[] = [];
    await startPump(async (e) => {
      const failures: { itemIdentifier: string }[] = [];
      for (const r of e.Records) {
        const { event } = routedEventOf(r);
        if (event.orderId === 's-poison') failures.push({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' });
        else delivered.push(event.seq);
      }
      return { batchItemFailures: failures };
    });
    await orderWithMessages('s-poison', 0);
    await until(() => (pump?.deadLettered().length ?? 0) > 0, 20_000);
    await orderWithMessages('s-after', 1);
    await until(() => delivered.length >= 2);
    expect(delivered).toEqual([1, 2]);
    expect(pump?.deadLettered()[0]?.records).toHaveLength(1);
  });

  it('reads the stream once per consumer: one stuck, then failing every batch until dead-lettered, holds back no other', async () => {
    const steadyAt = new Map<string, number>();
    const steady: string[] = [];
    let poisonCalls = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await startConsumers([
      {
        name: 'poison',
        filter: [TIMELINE_INSERT_FILTER],
        maxRetries: 3,
        handler: async () => {
          poisonCalls++;
          // Its first invocation hangs until the test lets it go; every one fails.
          if (poisonCalls === 1) await released;
          throw new Error('down');
        },
      },
      {
        name: 'steady',
        filter: [TIMELINE_INSERT_FILTER],
        handler: async (e) => {
          for (const r of e.Records) {
            const { event } = routedEventOf(r);
            steady.push(`${event.orderId}:${event.seq}`);
            steadyAt.set(r.dynamodb?.SequenceNumber ?? '', Date.now());
          }
          return { batchItemFailures: [] };
        },
      },
    ]);
    await orderWithMessages('s-c', 3);
    await until(() => poisonCalls === 1 && steady.length >= 4);
    await orderWithMessages('s-d', 1);
    await until(() => steady.length >= 6);
    // All of it while the poison consumer was still stuck on its first batch.
    expect(poisonCalls).toBe(1);
    expect(pump?.deadLettered('poison')).toEqual([]);
    release();
    const poisonRecords = () => (pump?.deadLettered('poison') ?? []).reduce((n, d) => n + d.records.length, 0);
    await until(() => poisonRecords() >= 6, 20_000);

    expect(steady).toEqual(['s-c:1', 's-c:2', 's-c:3', 's-c:4', 's-d:1', 's-d:2']);
    const dead = pump?.deadLettered('poison') ?? [];
    expect(dead.flatMap((d) => d.records.map((r) => { const { event } = routedEventOf(r); return `${event.orderId}:${event.seq}`; }))).toEqual(steady);
    for (const d of dead) {
      expect(d.consumer).toBe('poison');
      for (const r of d.records) expect(steadyAt.get(r.dynamodb?.SequenceNumber ?? '')).toBeLessThan(Date.parse(d.at));
    }
    // Every batch was tried 1 + maxRetries times.
    expect(poisonCalls).toBe(dead.length * 4);
    expect(pump?.deadLettered('steady')).toEqual([]);
    expect(pump?.deadLettered()).toEqual(dead);
    expect(pump?.stats()).toMatchObject({
      delivered: 6,
      deadLetters: dead.length,
      consumers: [
        { name: 'poison', delivered: 0, deadLetters: dead.length },
        { name: 'steady', delivered: 6, deadLetters: 0 },
      ],
    });
  });

  it('gives each consumer only the records its filter lets through, and skips the rest for it', async () => {
    const heads = { eventName: ['MODIFY'], dynamodb: { Keys: { sk: { S: ['HEAD'] } } } } as const;
    const seen: Record<string, string[]> = { all: [], heads: [], timeline: [], either: [] };
    const collect = (name: string) => async (e: DynamoDBStreamEvent) => {
      for (const r of e.Records) seen[name]!.push(`${r.eventName} ${r.dynamodb?.Keys?.pk?.S} ${r.dynamodb?.Keys?.sk?.S}`);
      return { batchItemFailures: [] };
    };
    await startConsumers([
      { name: 'all', filter: [], handler: collect('all') },
      { name: 'heads', filter: [heads], handler: collect('heads') },
      { name: 'timeline', filter: [TIMELINE_INSERT_FILTER], handler: collect('timeline') },
      { name: 'either', filter: [TIMELINE_INSERT_FILTER, heads], handler: collect('either') },
    ]);
    await orderWithMessages('s-f', 2);
    await until(() => seen.timeline!.length >= 3 && seen.heads!.length >= 2 && seen.either!.length >= 5);
    await new Promise((r) => setTimeout(r, 300));

    const all = seen.all!;
    const isHead = (k: string) => k.startsWith('MODIFY ') && k.endsWith(' HEAD');
    const isTimeline = (k: string) => k.startsWith('INSERT ') && / E#\d+$/.test(k);
    expect(all.filter((k) => !isHead(k) && !isTimeline(k)).length).toBeGreaterThan(0);
    expect(seen.timeline).toEqual(all.filter(isTimeline));
    expect(seen.timeline).toHaveLength(3);
    expect(seen.heads).toEqual(all.filter(isHead));
    expect(seen.heads).toHaveLength(2);
    expect(seen.either).toEqual(all.filter((k) => isHead(k) || isTimeline(k)));
    // Skipped records are neither delivered nor failed for the consumer that filtered them out.
    expect(pump?.stats().consumers).toEqual([
      expect.objectContaining({ name: 'all', delivered: all.length, deadLetters: 0 }),
      expect.objectContaining({ name: 'heads', delivered: 2, deadLetters: 0 }),
      expect.objectContaining({ name: 'timeline', delivered: 3, deadLetters: 0 }),
      expect.objectContaining({ name: 'either', delivered: 5, deadLetters: 0 }),
    ]);
  });

  it('refuses two consumers of one name and a filter rule it does not know', () => {
    const client = new DynamoDBStreamsClient({ region: LOCAL_REGION });
    const handler = async () => ({ batchItemFailures: [] });
    expect(() => new StreamPump({ client, streamArn, log: quiet, consumers: [{ name: 'a', filter: [], handler }, { name: 'a', filter: [], handler }] })).toThrow(/twice/);
    expect(() => new StreamPump({ client, streamArn, log: quiet, consumers: [{ name: 'a', filter: [{ eventName: [{ wildcard: 'IN*' } as never] }], handler }] })).toThrow(/eventName/);
    client.destroy();
  });
});
