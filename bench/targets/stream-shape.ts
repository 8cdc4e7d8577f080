/**
 * Target (c): the minimal stream shape. Each post is one PutItem on DynamoDB
 * Local (file database), acked when the write returns; a poller reads the
 * table's stream (a GetRecords loop per open shard) and broadcasts each new
 * record to its room. No auth, no rules, no membership table: the shape
 * Waypost has, with nothing else.
 *
 * The poll loop is as tight as is reasonable on a 2-core machine shared with
 * the load generator: a poll that returned records is followed at once by
 * the next; an empty one waits `BENCH_POLL_IDLE_MS` (default 2 ms) so an idle
 * poller does not eat a core.
 */
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { LOCAL_REGION } from '../../local/dynamodb';
import { startBenchDynamo } from './dynamo';
import { RoomServer, serve } from './room-server';

const IDLE_MS = Number(process.env.BENCH_POLL_IDLE_MS ?? 2);
const SHARD_REFRESH_MS = 1000;

interface Shard {
  iterator: string | undefined;
  lastSequenceNumber: string | undefined;
}

const db = await startBenchDynamo();
const server = new RoomServer({ persist: db.put, broadcastAfterPersist: false });
const streams = new DynamoDBStreamsClient({ endpoint: db.local.endpoint, region: LOCAL_REGION, credentials: db.local.credentials });
const shards = new Map<string, Shard>();
let running = true;
let lastRefresh = 0;

async function refreshShards(): Promise<void> {
  lastRefresh = Date.now();
  let start: string | undefined;
  do {
    const res = await streams.send(new DescribeStreamCommand({ StreamArn: db.streamArn, ExclusiveStartShardId: start }));
    for (const shard of res.StreamDescription?.Shards ?? []) {
      const id = shard.ShardId;
      if (id === undefined || shards.has(id)) continue;
      // The table is fresh: every shard is read from its start.
      const it = await streams.send(new GetShardIteratorCommand({ StreamArn: db.streamArn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }));
      shards.set(id, { iterator: it.ShardIterator, lastSequenceNumber: undefined });
    }
    start = res.StreamDescription?.LastEvaluatedShardId;
  } while (start !== undefined);
}

async function pollShard(id: string, shard: Shard): Promise<number> {
  if (shard.iterator === undefined) {
    shards.delete(id);
    return 0;
  }
  let res;
  try {
    res = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: 1000 }));
  } catch (err) {
    if (!(err instanceof ExpiredIteratorException || err instanceof TrimmedDataAccessException)) throw err;
    const it = await streams.send(
      new GetShardIteratorCommand({
        StreamArn: db.streamArn,
        ShardId: id,
        ...(shard.lastSequenceNumber !== undefined
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.lastSequenceNumber }
          : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    shard.iterator = it.ShardIterator;
    return 0;
  }
  const records = res.Records ?? [];
  for (const r of records) {
    const image = r.dynamodb?.NewImage;
    const room = image?.pk?.S;
    const eventJson = image?.event?.S;
    if (r.eventName === 'INSERT' && room !== undefined && eventJson !== undefined) server.broadcast(room, eventJson);
    shard.lastSequenceNumber = r.dynamodb?.SequenceNumber ?? shard.lastSequenceNumber;
  }
  shard.iterator = res.NextShardIterator;
  if (shard.iterator === undefined) {
    // A closed shard: its children are found at once.
    shards.delete(id);
    lastRefresh = 0;
  }
  return records.length;
}

async function pollLoop(): Promise<void> {
  while (running) {
    let got = 0;
    try {
      if (Date.now() - lastRefresh > SHARD_REFRESH_MS) await refreshShards();
      for (const [id, shard] of shards) got += await pollShard(id, shard);
    } catch (err) {
      process.stderr.write(`stream poll failed: ${err instanceof Error ? err.message : String(err)}\n`);
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    if (got === 0) await new Promise((r) => setTimeout(r, IDLE_MS));
  }
}

await refreshShards();
const loop = pollLoop();
await serve(server, async () => {
  running = false;
  await loop;
  streams.destroy();
  await db.stop();
});
