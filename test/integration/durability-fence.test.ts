/**
 * The durability fence against DynamoDB Local: a transaction's answer is
 * handed back only after a request sent after that answer has been answered;
 * concurrent callers share fences; other commands pass untouched; a fence that
 * cannot be had fails the call. (That the fence makes an acked transaction
 * survive SIGKILL is shown by test/e2e/crash-group.test.ts and measured by
 * bench/durability-probe.ts.)
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { DurabilityFence, FENCE_KEY, installDurabilityFence } from '../../local/durability-fence';
import { LOCAL_REGION } from '../../local/dynamodb';
import { freePort } from '../../local/free-port';
import { createTestTables, type TestTables } from '../support/tables';

let tables: TestTables;

beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
});

/** A client for the fence whose requests are timed: when each was sent and answered (performance.now()). */
function timedFenceClient(endpoint: string): { client: DynamoDBClient; requests: { sentAt: number; answeredAt?: number }[] } {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: inject('dynamodbCredentials') });
  const requests: { sentAt: number; answeredAt?: number }[] = [];
  client.middlewareStack.add(
    (next) => async (args) => {
      const r: { sentAt: number; answeredAt?: number } = { sentAt: performance.now() };
      requests.push(r);
      const out = await next(args);
      r.answeredAt = performance.now();
      return out;
    },
    { step: 'finalizeRequest', name: 'timeFence' },
  );
  return { client, requests };
}

describe('DurabilityFence.after', () => {
  it('resolves only once a fence request sent after the call has been answered', async () => {
    const { client, requests } = timedFenceClient(inject('dynamodbEndpoint'));
    const fence = new DurabilityFence(client, tables.orders);
    for (let round = 0; round < 5; round++) {
      const calls = Array.from({ length: 20 }, async (_, i) => {
        await new Promise((r) => setTimeout(r, i % 7));
        const calledAt = performance.now();
        await fence.after();
        const resolvedAt = performance.now();
        expect(requests.some((q) => q.sentAt >= calledAt && q.answeredAt !== undefined && q.answeredAt <= resolvedAt)).toBe(true);
      });
      await Promise.all(calls);
    }
    client.destroy();
  });

  it('lets concurrent callers share fences: 100 at once cost at most two requests', async () => {
    const { client, requests } = timedFenceClient(inject('dynamodbEndpoint'));
    const fence = new DurabilityFence(client, tables.orders);
    await Promise.all(Array.from({ length: 100 }, () => fence.after()));
    expect(requests.length).toBeLessThanOrEqual(2);
    expect(fence.stats()).toEqual({ fences: requests.length, waits: 100 });
    client.destroy();
  });

  it('reads a key that is never written', async () => {
    const { client } = timedFenceClient(inject('dynamodbEndpoint'));
    await new DurabilityFence(client, tables.orders).after();
    const item = await tables.doc.send(new GetCommand({ TableName: tables.orders, Key: { pk: FENCE_KEY.pk.S, sk: FENCE_KEY.sk.S } }));
    expect(item.Item).toBeUndefined();
    client.destroy();
  });
});

describe('installDurabilityFence', () => {
  it('fences transactions sent through a document client built on the fenced client, and nothing else', async () => {
    const { client: fenceClient, requests } = timedFenceClient(inject('dynamodbEndpoint'));
    const { client, doc } = await createTestTables(inject('dynamodbEndpoint'));
    const fence = new DurabilityFence(fenceClient, tables.orders);
    installDurabilityFence(client, fence);
    const table = tables.orders;

    await doc.send(new PutCommand({ TableName: table, Item: { pk: 'fence-test', sk: 'put' } }));
    expect(requests).toHaveLength(0);

    let answeredAt = 0;
    const sent = doc.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: table, Item: { pk: 'fence-test', sk: 'tx' } } }] })).then((out) => {
      answeredAt = performance.now();
      return out;
    });
    await sent;
    expect(requests).toHaveLength(1);
    expect(requests[0]!.answeredAt).toBeLessThanOrEqual(answeredAt);

    // A cancelled transaction stored nothing: its error comes back as it was, with no fence.
    await expect(
      doc.send(
        new TransactWriteCommand({
          TransactItems: [{ Put: { TableName: table, Item: { pk: 'fence-test', sk: 'tx' }, ConditionExpression: 'attribute_not_exists(pk)' } }],
        }),
      ),
    ).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(requests).toHaveLength(1);
    client.destroy();
    fenceClient.destroy();
  });

  it('fails the transaction\'s caller when no fence can be had: nothing is taken as durable', async () => {
    const deadPort = await freePort();
    const deadFence = new DynamoDBClient({ endpoint: `http://127.0.0.1:${deadPort}`, region: LOCAL_REGION, credentials: inject('dynamodbCredentials'), maxAttempts: 1 });
    const t = await createTestTables(inject('dynamodbEndpoint'));
    installDurabilityFence(t.client, new DurabilityFence(deadFence, t.orders));
    await expect(
      t.doc.send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: t.orders, Item: { pk: 'fence-dead', sk: 'tx' } } }] })),
    ).rejects.toThrow();
    t.client.destroy();
    deadFence.destroy();
  });
});
