/**
 * The local stream pump on DynamoDB Local's real stream: timeline inserts
 * reach the handler in order; reported failures are retried in order and
 * nothing else is delivered twice.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_REGION, streamArnOf } from '../../local/dynamodb';
import { StreamPump } from '../../local/stream-pump';
import type { Principal } from '../../shared/domain/model';
import { createLogger } from '../../shared/runtime/log';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { OrdersService } from '../../shared/services/orders-service';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { routedEventOf } from '../../shared/store/stream-records';
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

function startPump(handler: (e: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>) {
  const client = new DynamoDBStreamsClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: inject('dynamodbCredentials') });
  pump = new StreamPump({ client, streamArn, handler, log: quiet, idleMs: 20, maxRetries: 5 });
  return pump.start();
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
});
