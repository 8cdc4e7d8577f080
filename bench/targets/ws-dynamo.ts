/**
 * Target (b): the bare room server writing each post to DynamoDB Local (file
 * database) with one PutItem before broadcasting it and acking: the
 * durability floor with this engine.
 */
import { startBenchDynamo } from './dynamo';
import { RoomServer, serve } from './room-server';

const db = await startBenchDynamo();
await serve(new RoomServer({ persist: db.put, broadcastAfterPersist: true }), db.stop);
