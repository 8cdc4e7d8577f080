/**
 * DynamoDB Local for the baselines (b) and (c): a FILE database in a fresh
 * temporary directory (the issue asks for the engine's durable mode, not its
 * in-memory one), started through Waypost's own launcher, with one table
 * `bench_events` (pk = room, sk = seq) whose stream carries new images.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ensureTables, LOCAL_REGION, startDynamoDbLocal, streamArnOf, type DynamoDbLocal } from '../../local/dynamodb';
import { freePort } from '../../local/free-port';
import type { TableDef } from '../../shared/store/tables';

export const BENCH_TABLE = 'bench_events';

const BENCH_TABLE_DEF: TableDef = {
  id: 'orders',
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'N' },
  indexes: [],
  stream: 'NEW_AND_OLD_IMAGES',
};

export interface BenchDynamo {
  readonly local: DynamoDbLocal;
  readonly client: DynamoDBClient;
  readonly dataDir: string;
  readonly streamArn: string;
  readonly put: (room: string, seq: number, eventJson: string) => Promise<void>;
  readonly stop: () => Promise<void>;
}

export async function startBenchDynamo(): Promise<BenchDynamo> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dataDir = mkdtempSync(join(tmpdir(), 'waypost-bench-ddb-'));
  const local = await startDynamoDbLocal({ port: await freePort(), dataDir });
  const client = new DynamoDBClient({ endpoint: local.endpoint, region: LOCAL_REGION, credentials: local.credentials });
  await ensureTables(client, [{ def: BENCH_TABLE_DEF, name: BENCH_TABLE }]);
  const streamArn = await streamArnOf(client, BENCH_TABLE);
  return {
    local,
    client,
    dataDir,
    streamArn,
    put: async (room, seq, eventJson) => {
      await client.send(
        new PutItemCommand({
          TableName: BENCH_TABLE,
          Item: { pk: { S: room }, sk: { N: String(seq) }, event: { S: eventJson } },
        }),
      );
    },
    stop: async () => {
      client.destroy();
      await local.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
