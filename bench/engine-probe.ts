/**
 * The storage engine's own ceiling on this machine: DynamoDB Local with a
 * FILE database, driven directly with the SDK (no WebSocket, no Waypost), for
 * the operations a post costs: PutItem (targets b and c), consistent GetItem
 * and a 3-item TransactWriteItems (Waypost: head + event + idempotency key).
 * Run alone (`node --import tsx bench/engine-probe.ts`) or by `npm run bench
 * -- --engine`; prints one `RESULT <json>` line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { ensureTables, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb';
import { freePort } from '../local/free-port';
import { ORDERS_TABLE } from '../shared/store/tables';

export interface EngineResult {
  readonly op: string;
  readonly writers: number;
  readonly opsPerSecond: number;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const dir = mkdtempSync(join(tmpdir(), 'waypost-bench-engine-'));
const local = await startDynamoDbLocal({ port: await freePort(), dataDir: dir });
const client = new DynamoDBClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: local.credentials });
const table = 'bench_engine';
await ensureTables(client, [{ def: ORDERS_TABLE, name: table }]);
const pad = 'x'.repeat(250);
const results: EngineResult[] = [];

async function measure(op: string, n: number, writers: number, run: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let i = next++; i < n; i = next++) await run(i);
    }),
  );
  results.push({ op, writers, opsPerSecond: Math.round(n / ((performance.now() - t0) / 1000)) });
}

try {
  // Warm the JVM a little first.
  await measure('warm-up', 300, 8, (i) => client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `w${i % 50}` }, sk: { S: `E#${i}` }, v: { S: pad } } })));
  results.length = 0;
  for (const writers of [1, 16]) {
    const tag = `${writers}`;
    await measure('PutItem', 600, writers, (i) =>
      client.send(new PutItemCommand({ TableName: table, Item: { pk: { S: `p${i % 200}` }, sk: { S: `E#${tag}-${i}` }, v: { S: pad } } })),
    );
    await measure('GetItem (consistent)', 600, writers, (i) =>
      client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `p${i % 200}` }, sk: { S: `E#${tag}-${i}` } }, ConsistentRead: true })),
    );
    await measure('TransactWriteItems (3 items)', 300, writers, (i) =>
      client.send(
        new TransactWriteItemsCommand({
          TransactItems: ['HEAD', 'E#', 'ID#'].map((kind) => ({
            Put: {
              TableName: table,
              Item: { pk: { S: `t${i % 200}` }, sk: { S: `${kind}${tag}-${i}` }, v: { S: pad } },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          })),
        }),
      ),
    );
  }
  process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
} finally {
  client.destroy();
  await local.stop();
  rmSync(dir, { recursive: true, force: true });
}
