/**
 * A one-off engine comparison behind a design decision (bench/README.md,
 * "What is left"): is a post cheaper for DynamoDB Local (file DB) as
 *   A) Waypost's 3-item transaction: head update (`headSeq = :seen`), event
 *      `E#<seq>`, idempotency key `ID#<id>`; or
 *   B) a 2-item transaction: head update and the event keyed by its client id
 *      `K#<id>`, with a local secondary index on `seq` for the timeline?
 * And how much does grouping k posts per transaction save? 16 writers,
 * ~300-byte events; prints posts/s and the JVM's CPU per post.
 * Run: `node --import tsx bench/schema-probe.ts` (about a minute).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ensureTables, LOCAL_REGION, startDynamoDbLocal } from '../local/dynamodb';
import { freePort } from '../local/free-port';
import { ORDERS_TABLE } from '../shared/store/tables';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const dir = mkdtempSync(join(tmpdir(), 'probe-'));
const local = await startDynamoDbLocal({ port: await freePort(), dataDir: dir });
const client = new DynamoDBClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: local.credentials });
const doc = DynamoDBDocumentClient.from(client);
await ensureTables(client, [{ def: ORDERS_TABLE, name: 'probe_a' }]);
// B: the same table plus a local secondary index on `seq` (the event keyed by its client id instead of its seq).
await client.send(new CreateTableCommand({
  TableName: 'probe_b', BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }, { AttributeName: 'sk', AttributeType: 'S' }, { AttributeName: 'seq', AttributeType: 'N' },
    { AttributeName: 'gsiTenant', AttributeType: 'S' }, { AttributeName: 'gsiRetailer', AttributeType: 'S' }, { AttributeName: 'gsiDriver', AttributeType: 'S' }, { AttributeName: 'gsiCreated', AttributeType: 'S' },
    { AttributeName: 'dueShard', AttributeType: 'S' }, { AttributeName: 'dueAt', AttributeType: 'S' }, { AttributeName: 'gsiAlertState', AttributeType: 'S' }, { AttributeName: 'gsiOpened', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }],
  LocalSecondaryIndexes: [{ IndexName: 'bySeq', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'seq', KeyType: 'RANGE' }], Projection: { ProjectionType: 'ALL' } }],
  GlobalSecondaryIndexes: ORDERS_TABLE.indexes.map((i) => ({ IndexName: i.indexName, KeySchema: [{ AttributeName: i.partitionKey.name, KeyType: 'HASH' }, { AttributeName: i.sortKey.name, KeyType: 'RANGE' }], Projection: { ProjectionType: i.projection } })),
  StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
}));
const javaPid = Number(readFileSync(join(dir, 'dynamodb-local.pid'), 'utf8'));
function javaCpu(): number { const f = readFileSync(`/proc/${javaPid}/stat`, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; }
const event = { kind: 'checkpoint', status: 'picked_up', note: 'x'.repeat(200), actor: { sub: 'd1', role: 'driver' }, at: new Date().toISOString() };
const ORDERS = 256;
for (const t of ['probe_a', 'probe_b']) for (let o = 0; o < ORDERS; o++) {
  await doc.send(new PutCommand({ TableName: t, Item: { pk: `T#t#O#o${o}`, sk: 'HEAD', headSeq: 0, gsiTenant: 'T#t', gsiRetailer: 'T#t#R#r', gsiDriver: 'T#t#D#d', gsiCreated: `2026#o${o}`, status: 'picked_up' } }));
}
const seqs: Record<string, number[]> = { probe_a: new Array<number>(ORDERS).fill(0), probe_b: new Array<number>(ORDERS).fill(0) };
function post(t: string, o: number, id: string) {
  const pk = `T#t#O#o${o}`; const seen = seqs[t]![o]!; const seq = seen + 1; seqs[t]![o] = seq;
  const head = { Update: { TableName: t, Key: { pk, sk: 'HEAD' }, UpdateExpression: 'SET headSeq = :seq, updatedAt = :at', ConditionExpression: 'headSeq = :seen', ExpressionAttributeValues: { ':seq': seq, ':at': event.at, ':seen': seen } } };
  if (t === 'probe_a') return [head,
    { Put: { TableName: t, Item: { pk, sk: `E#${String(seq).padStart(12, '0')}`, tenant: 't', retailerId: 'r', kind: 'checkpoint', roomEpoch: 0, event: { ...event, seq, orderId: `o${o}` } }, ConditionExpression: 'attribute_not_exists(pk)' } },
    { Put: { TableName: t, Item: { pk, sk: `ID#${id}`, kind: 'checkpoint', seq, at: event.at, by: 'd1', status: 'picked_up' }, ConditionExpression: 'attribute_not_exists(pk)' } }];
  return [head, { Put: { TableName: t, Item: { pk, sk: `K#${id}`, seq, tenant: 't', retailerId: 'r', kind: 'checkpoint', roomEpoch: 0, event: { ...event, seq, orderId: `o${o}` } }, ConditionExpression: 'attribute_not_exists(pk)' } }];
}
let runNo = 0;
async function measure(t: string, k: number, n: number, writers = 16) {
  const run = ++runNo;
  // writer w owns orders o with o % writers === w; each txn groups k of its orders.
  const c0 = javaCpu(); const t0 = performance.now(); let posts = 0;
  await Promise.all(Array.from({ length: writers }, async (_, w) => {
    const mine = Array.from({ length: ORDERS / writers }, (_, i) => w + i * writers);
    for (let r = 0; posts < n; r++) {
      const items = [] as unknown[];
      for (let j = 0; j < k; j++) items.push(...post(t, mine[(r * k + j) % mine.length]!, `${t}-${run}-${w}-${r}-${j}`));
      posts += k;
      await doc.send(new TransactWriteCommand({ TransactItems: items as never }));
    }
  }));
  const dt = (performance.now() - t0) / 1000;
  console.log(t, 'group', k, 'posts/s', Math.round(posts / dt), 'java ms/post', ((javaCpu() - c0) / posts).toFixed(2));
}
await measure('probe_a', 1, 1000); await measure('probe_b', 1, 1000); await measure('probe_b', 1, 1000); await measure('probe_a', 1, 1000);
for (const k of [1, 4, 12]) { await measure('probe_a', k, 1500); await measure('probe_b', k, 1500); }
client.destroy(); await local.stop(); rmSync(dir, { recursive: true, force: true });
