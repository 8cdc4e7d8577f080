/** Connections and room memberships against DynamoDB Local. */
import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
import { LOCAL_REGION } from '../../local/dynamodb';
import { LimitExceededError } from '../../shared/domain/errors';
import { DynamoConnectionStore } from '../../shared/store/connection-store';
import { keys } from '../../shared/store/tables';
import { createTestTables, type TestTables } from '../support/tables';

const alice: Principal = { tenant: 't1', role: 'dispatcher', sub: 'alice' };
/** `p` holding a token that expires in an hour. */
const holding = (principal: Principal, exp = Math.floor(Date.now() / 1000) + 3600) => ({ principal, exp });
let tables: TestTables;
let store: DynamoConnectionStore;

beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
  store = new DynamoConnectionStore(tables.doc, tables.connections);
});

/** Put `rooms` in a connection's room set directly, as that many joins would (their membership items left out). */
async function holdRooms(connectionId: string, rooms: string[]): Promise<void> {
  await tables.doc.send(
    new UpdateCommand({
      TableName: tables.connections,
      Key: { pk: keys.connection(connectionId), sk: keys.connectionMeta },
      UpdateExpression: 'ADD rooms :rooms',
      ExpressionAttributeValues: { ':rooms': new Set(rooms) },
    }),
  );
}

/**
 * A store on the same tables whose next `conflicts` TransactWriteItems calls
 * fail as DynamoDB fails a transaction that meets another one on the same
 * item (`TransactionConflict`), before reaching the database.
 */
function conflictingStore(conflicts: number): DynamoConnectionStore {
  const client = new DynamoDBClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: inject('dynamodbCredentials'), maxAttempts: 1 });
  let left = conflicts;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand' || left === 0) return next(args);
      left--;
      const items = (args.input as { TransactItems?: unknown[] }).TransactItems ?? [];
      throw new TransactionCanceledException({
        message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
        $metadata: {},
        CancellationReasons: items.map((_, i) => ({ Code: i === 0 ? 'TransactionConflict' : 'None' })),
      });
    },
    { step: 'finalizeRequest', name: 'injectConflicts' },
  );
  return new DynamoConnectionStore(DynamoDBDocumentClient.from(client), tables.connections);
}

describe('DynamoConnectionStore', () => {
  it('keeps a connection with its principal and rooms', async () => {
    await store.put('c1', holding(alice), new Date());
    expect(await store.join('c1', 'dispatch', holding(alice))).toBe(true);
    expect(await store.join('c1', 'order:o1', holding(alice))).toBe(true);
    const record = await store.get('c1');
    expect(record?.principal).toEqual(alice);
    expect([...(record?.rooms ?? [])].sort()).toEqual(['dispatch', 'order:o1']);
  });

  it('lists the members of a room, per tenant', async () => {
    await store.put('c2', holding(alice), new Date());
    await store.put('c3', holding({ ...alice, tenant: 't2' }), new Date());
    await store.join('c2', 'order:o2', holding(alice));
    await store.join('c3', 'order:o2', holding({ ...alice, tenant: 't2' }));
    expect(await store.members('t1', 'order:o2')).toEqual(['c2']);
    expect(await store.members('t2', 'order:o2')).toEqual(['c3']);
  });

  it('refuses to join for a connection that does not exist', async () => {
    expect(await store.join('nobody', 'dispatch', holding(alice))).toBe(false);
    expect(await store.members('t1', 'dispatch')).not.toContain('nobody');
  });

  it('leaves a room', async () => {
    await store.put('c4', holding(alice), new Date());
    await store.join('c4', 'order:o4', holding(alice));
    await store.leave('c4', 't1', 'order:o4');
    expect(await store.members('t1', 'order:o4')).toEqual([]);
    expect((await store.get('c4'))?.rooms).toEqual([]);
  });

  it('removes a connection with every membership', async () => {
    await store.put('c5', holding(alice), new Date());
    for (let i = 0; i < 30; i++) await store.join('c5', `order:many-${i}`, holding(alice));
    await store.remove('c5');
    expect(await store.get('c5')).toBeNull();
    for (let i = 0; i < 30; i++) expect(await store.members('t1', `order:many-${i}`)).toEqual([]);
  });

  it('holds at most 500 rooms: another room is LIMIT_EXCEEDED, a held one joins again, a left one frees a slot', async () => {
    // Arrange
    await store.put('c-cap', holding(alice), new Date());
    await holdRooms('c-cap', Array.from({ length: 495 }, (_, i) => `order:cap-${i}`));
    for (let i = 495; i < 500; i++) expect(await store.join('c-cap', `order:cap-${i}`, holding(alice))).toBe(true);

    // Act
    const refused = await store.join('c-cap', 'order:cap-500', holding(alice)).catch((err: unknown) => err);
    const again = await store.join('c-cap', 'order:cap-7', holding(alice));
    await store.leave('c-cap', 't1', 'order:cap-497');
    const afterLeave = await store.join('c-cap', 'order:cap-500', holding(alice));
    const fullAgain = await store.join('c-cap', 'dispatch', holding(alice)).catch((err: unknown) => err);

    // Assert
    expect(refused).toBeInstanceOf(LimitExceededError);
    expect(refused).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { limit: 500 } });
    expect(again).toBe(true);
    expect(afterLeave).toBe(true);
    expect(fullAgain).toBeInstanceOf(LimitExceededError);
    const rooms = (await store.get('c-cap'))?.rooms ?? [];
    expect(rooms).toHaveLength(500);
    expect(rooms).toContain('order:cap-500');
    expect(rooms).not.toContain('order:cap-497');
    expect(await store.members('t1', 'dispatch')).not.toContain('c-cap');
  });

  it('concurrent joins never pass the limit: exactly 500 rooms held, every other join LIMIT_EXCEEDED', async () => {
    // Arrange
    await store.put('c-race', holding(alice), new Date());
    await holdRooms('c-race', Array.from({ length: 490 }, (_, i) => `order:race-${i}`));

    // Act: 30 new rooms at once, as concurrent frames of one connection reach several Lambdas
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        store.join('c-race', `order:race-new-${i}`, holding(alice)).then(
          (joined) => (joined ? 'joined' : 'gone'),
          (err: unknown) => (err instanceof LimitExceededError ? 'limit' : err),
        ),
      ),
    );

    // Assert
    expect(outcomes.filter((o) => o === 'joined')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'limit')).toHaveLength(20);
    const rooms = (await store.get('c-race'))?.rooms ?? [];
    expect(rooms).toHaveLength(500);
    for (let i = 0; i < 30; i++) {
      const held = rooms.includes(`order:race-new-${i}`);
      expect(await store.members('t1', `order:race-new-${i}`)).toEqual(held ? ['c-race'] : []);
    }
  });

  it('tries a join and a leave again after transaction conflicts, instead of calling the connection gone', async () => {
    // Arrange
    await store.put('c-conflict', holding(alice), new Date());

    // Act
    const joined = await conflictingStore(4).join('c-conflict', 'order:busy', holding(alice));
    const roomsAfterJoin = (await store.get('c-conflict'))?.rooms;
    const left = await conflictingStore(2).leave('c-conflict', 't1', 'order:busy');

    // Assert
    expect(joined).toBe(true);
    expect(roomsAfterJoin).toEqual(['order:busy']);
    expect(left).toBe(true);
    expect((await store.get('c-conflict'))?.rooms).toEqual([]);
    expect(await store.members('t1', 'order:busy')).toEqual([]);
  });

  it('treats expired connections and memberships as gone (DynamoDB Local never runs TTL)', async () => {
    await store.put('c6', holding(alice), new Date(Date.now() - 3 * 3600_000));
    expect(await store.get('c6')).toBeNull();
    await tables.doc.send(
      new PutCommand({
        TableName: tables.connections,
        Item: { pk: keys.room('t1', 'order:old'), sk: keys.connection('c6'), connectionId: 'c6', expiresAt: 1 },
      }),
    );
    expect(await store.members('t1', 'order:old')).toEqual([]);
  });
});
