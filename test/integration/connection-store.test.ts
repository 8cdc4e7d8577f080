/** Connections and room memberships against DynamoDB Local. */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
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
