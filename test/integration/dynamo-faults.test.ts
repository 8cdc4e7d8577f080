/**
 * DynamoDB throttling and time-outs, injected at the client: a caller gets
 * an error (or the SDK's retry succeeds), never a half-written event, and the
 * timeline never has a gap. A write that times out after it committed is, on
 * the driver's retry with the same eventId, a duplicate.
 */
import { DynamoDBClient, ProvisionedThroughputExceededException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_REGION } from '../../local/dynamodb';
import type { Principal } from '../../shared/domain/model';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { OrdersService } from '../../shared/services/orders-service';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { createTestTables, type TestTables } from '../support/tables';

const retailer: Principal = { tenant: 'faulty', role: 'retailer', sub: 'r', retailerId: 'r1' };
const driver: Principal = { tenant: 'faulty', role: 'driver', sub: 'd1' };
const dispatcher: Principal = { tenant: 'faulty', role: 'dispatcher', sub: 'disp' };

type Fault = 'throttle-before' | 'timeout-after' | 'conflict' | undefined;

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
});

/** A service whose DynamoDB client fails TransactWriteItems as `plan` says, call by call. */
function faultyService(plan: Fault[], maxAttempts = 1) {
  const client = new DynamoDBClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: inject('dynamodbCredentials'), maxAttempts });
  let call = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
      const fault = plan[call++];
      if (fault === 'throttle-before') {
        throw new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds the allowed throughput.', $metadata: {} });
      }
      if (fault === 'conflict') {
        // What DynamoDB answers when another transaction holds the head at the same moment.
        const items = (args.input as { TransactItems?: unknown[] }).TransactItems ?? [];
        throw new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
          $metadata: {},
          CancellationReasons: items.map((_, i) => ({ Code: i === 0 ? 'TransactionConflict' : 'None' })),
        });
      }
      const out = await next(args);
      if (fault === 'timeout-after') throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
      return out;
    },
    { step: 'finalizeRequest', name: 'injectFaults' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const orders = new DynamoOrderStore(doc, tables.orders);
  const service = new OrdersService({ orders, policies: new DynamoPolicyStore(doc, tables.orders, DEFAULT_SLA_POLICY) });
  return { service, calls: () => call };
}

async function freshOrder(id: string) {
  const { service } = faultyService([]);
  await service.create(retailer, { orderId: id, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
  await service.assign(dispatcher, id, 'd1');
}

async function seqs(id: string) {
  const { service } = faultyService([]);
  return (await service.timeline(dispatcher, id)).items.map((e) => e.seq);
}

/** One device time for the file: a retry with the same eventId sends the same request (CONTRACT §5). */
const OCCURRED_AT = new Date().toISOString();

const cp = (orderId: string, eventId: string) => ({
  action: 'checkpoint' as const,
  eventId,
  orderId,
  status: 'picked_up' as const,
  occurredAt: OCCURRED_AT,
});

describe('DynamoDB faults', () => {
  it('a throttled write fails whole: nothing stored, and the retry stores it once', async () => {
    await freshOrder('t-1');
    const { service } = faultyService(['throttle-before']);
    await expect(service.checkpoint(driver, cp('t-1', 'e1'))).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(await seqs('t-1')).toEqual([1, 2]);
    expect(await service.checkpoint(driver, cp('t-1', 'e1'))).toMatchObject({ seq: 3, duplicate: false });
    expect(await seqs('t-1')).toEqual([1, 2, 3]);
  });

  it("the SDK's own retry rides out a throttle", async () => {
    await freshOrder('t-2');
    const { service, calls } = faultyService(['throttle-before', 'throttle-before'], 4);
    expect(await service.checkpoint(driver, cp('t-2', 'e1'))).toMatchObject({ seq: 3, duplicate: false });
    expect(calls()).toBe(3);
    expect(await seqs('t-2')).toEqual([1, 2, 3]);
  });

  it('a write that committed but timed out on the way back is a duplicate on retry, never a second event', async () => {
    await freshOrder('t-3');
    const { service } = faultyService(['timeout-after']);
    await expect(service.checkpoint(driver, cp('t-3', 'e1'))).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await service.checkpoint(driver, cp('t-3', 'e1'))).toMatchObject({ seq: 3, duplicate: true });
    expect(await seqs('t-3')).toEqual([1, 2, 3]);
  });

  it('an order that stays contended past 50 attempts is RATE_LIMITED, with nothing stored; the retry then stores it once', async () => {
    await freshOrder('t-5');
    const { service, calls } = faultyService(Array.from({ length: 50 }, () => 'conflict' as const));
    await expect(service.checkpoint(driver, cp('t-5', 'e1'))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(calls()).toBe(50);
    expect(await seqs('t-5')).toEqual([1, 2]);
    expect(await service.checkpoint(driver, cp('t-5', 'e1'))).toMatchObject({ seq: 3, duplicate: false });
    expect(await seqs('t-5')).toEqual([1, 2, 3]);
  });

  it('keeps the timeline gapless under random faults from concurrent writers', async () => {
    await freshOrder('t-4');
    const plan: Fault[] = Array.from({ length: 400 }, (_, i) => (i % 5 === 1 ? 'throttle-before' : i % 7 === 3 ? 'timeout-after' : undefined));
    const { service } = faultyService(plan);
    const writers = Array.from({ length: 4 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 10; i++) {
          const eventId = `w${w}-${i}`;
          // A driver's phone retries the same eventId until it sees an ack.
          for (let attempt = 0; attempt < 20; attempt++) {
            try {
              await service.checkpoint(driver, cp('t-4', eventId));
              break;
            } catch {
              // retry
            }
          }
        }
      })(),
    );
    await Promise.all(writers);
    const stored = await seqs('t-4');
    expect(stored).toEqual(Array.from({ length: stored.length }, (_, i) => i + 1));
    expect(stored).toHaveLength(2 + 40);
  });
});
