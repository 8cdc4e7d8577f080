/**
 * An order room's member list is read once per membership epoch, against
 * DynamoDB Local: events stored at the same epoch reuse it, a join or leave
 * moves the epoch on so the next event reads the members again, and a writer
 * in another process that still holds the old epoch cannot store an event
 * under it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { LOCAL_REGION } from '../../local/dynamodb';
import type { Principal } from '../../shared/domain/model';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { createLogger } from '../../shared/runtime/log';
import { FanoutService } from '../../shared/services/fanout-service';
import { OrdersService } from '../../shared/services/orders-service';
import { DynamoConnectionStore } from '../../shared/store/connection-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import type { Notifier } from '../../shared/store/notifier';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { keys } from '../../shared/store/tables';
import { streamed as streamedEvent } from '../support/stream';
import { createTestTables, type TestTables } from '../support/tables';

const tenant = 'epochs';
const retailer: Principal = { tenant, role: 'retailer', sub: 'r', retailerId: 'r1' };
const dispatcher: Principal = { tenant, role: 'dispatcher', sub: 'disp' };
const driver: Principal = { tenant, role: 'driver', sub: 'd1' };
/** `principal` holding a token that expires in an hour. */
const holding = (principal: Principal) => ({ principal, exp: Math.floor(Date.now() / 1000) + 3600 });

/** What API Gateway's `@connections` would answer (it cannot run here): records pushes; `gone` ids answer 410. */
class RecordingConnections implements Notifier {
  readonly received = new Map<string, number[]>();
  readonly gone = new Set<string>();
  attempts = 0;
  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    this.attempts++;
    if (this.gone.has(connectionId)) return 'gone';
    const seq = (JSON.parse(data) as { event: { seq: number } }).event.seq;
    this.received.set(connectionId, [...(this.received.get(connectionId) ?? []), seq]);
    return 'sent';
  }
  async disconnect(connectionId: string): Promise<'closed' | 'gone'> {
    return this.gone.has(connectionId) ? 'gone' : 'closed';
  }
}

let tables: TestTables;
beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
});

/** A process's stores on their own client, counting the membership queries it makes. */
function processStores() {
  const client = new DynamoDBClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: inject('dynamodbCredentials') });
  const counts = { roomQueries: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'QueryCommand' && (args.input as { TableName?: string }).TableName === tables.connections) counts.roomQueries++;
      return next(args);
    },
    { step: 'initialize', name: 'countRoomQueries' },
  );
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const orderStore = new DynamoOrderStore(doc, tables.orders);
  const orders = new OrdersService({ orders: orderStore, policies: new DynamoPolicyStore(doc, tables.orders, DEFAULT_SLA_POLICY) });
  const connections = new DynamoConnectionStore(doc, tables.connections);
  return { orders, orderStore, connections, counts };
}

/** The stream record DynamoDB would emit for the stored event `seq`, as the fan-out gets it. */
const streamed = (orderId: string, seq: number) => streamedEvent(tables.doc, tables.orders, tenant, orderId, seq);

let n = 0;
async function newOrder(orders: OrdersService): Promise<string> {
  const orderId = `ep-${++n}-${Date.now()}`;
  await orders.create(retailer, { orderId, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
  await orders.assign(dispatcher, orderId, driver.sub);
  return orderId;
}

const post = (orders: OrdersService, orderId: string, eventId: string) =>
  orders.message(driver, { action: 'message', messageId: eventId, orderId, text: `note ${eventId}` });

describe('order room membership epochs', () => {
  it('reads the members once per epoch; a join or leave makes the next event read them again', async () => {
    const { orders, orderStore, connections, counts } = processStores();
    const api = new RecordingConnections();
    const fanout = new FanoutService(connections, api, createLogger(), orderStore);
    const orderId = await newOrder(orders);
    const room = `order:${orderId}`;

    await connections.put('a', holding(dispatcher), new Date());
    await connections.join('a', room, holding(dispatcher));
    const joinedAt = (await orders.roomChanged(dispatcher, orderId)).headSeq;

    const first = await post(orders, orderId, 'm1');
    const second = await post(orders, orderId, 'm2');
    expect(first.seq).toBe(joinedAt + 1);
    await fanout.deliver(await streamed(orderId, first.seq));
    await fanout.deliver(await streamed(orderId, second.seq));
    expect(api.received.get('a')).toEqual([first.seq, second.seq]);
    expect(counts.roomQueries).toBe(1);

    // b joins: the very next event reaches it.
    await connections.put('b', holding(retailer), new Date());
    await connections.join('b', room, holding(retailer));
    const bJoinedAt = (await orders.roomChanged(retailer, orderId)).headSeq;
    const third = await post(orders, orderId, 'm3');
    expect(third.seq).toBe(bJoinedAt + 1);
    await fanout.deliver(await streamed(orderId, third.seq));
    expect(api.received.get('b')).toEqual([third.seq]);
    expect(counts.roomQueries).toBe(2);

    // a leaves: the next event no longer reaches it.
    expect(await connections.leave('a', tenant, room)).toBe(true);
    await orders.roomChanged(dispatcher, orderId);
    const fourth = await post(orders, orderId, 'm4');
    await fanout.deliver(await streamed(orderId, fourth.seq));
    expect(api.received.get('a')).toEqual([first.seq, second.seq, third.seq]);
    expect(api.received.get('b')).toEqual([third.seq, fourth.seq]);
    expect(counts.roomQueries).toBe(3);

    // Leaving a room one is not in changes nothing.
    expect(await connections.leave('a', tenant, room)).toBe(false);
  });

  it('drops a gone member from the list it keeps, so later events do not push to it again', async () => {
    const { orders, orderStore, connections, counts } = processStores();
    const api = new RecordingConnections();
    const fanout = new FanoutService(connections, api, createLogger(), orderStore);
    const orderId = await newOrder(orders);
    const room = `order:${orderId}`;
    for (const id of ['live', 'dead']) {
      await connections.put(id, holding(retailer), new Date());
      await connections.join(id, room, holding(retailer));
    }
    await orders.roomChanged(retailer, orderId);
    api.gone.add('dead');

    const first = await post(orders, orderId, 'g1');
    expect(await fanout.deliver(await streamed(orderId, first.seq))).toEqual({ sent: 1, gone: 1 });
    const attempts = api.attempts;
    const second = await post(orders, orderId, 'g2');
    expect(await fanout.deliver(await streamed(orderId, second.seq))).toEqual({ sent: 1, gone: 0 });
    expect(api.attempts - attempts).toBe(1);
    expect(api.received.get('live')).toEqual([first.seq, second.seq]);
    expect(counts.roomQueries).toBe(1);
  });

  it('a writer in another process that holds the old epoch stores its next event under the new one', async () => {
    const writer = processStores();
    const subscriber = processStores();
    const orderId = await newOrder(writer.orders);
    const before = await post(writer.orders, orderId, 'w1');
    expect((await streamed(orderId, before.seq)).roomEpoch).toBe(0);

    await subscriber.connections.put('c', holding(retailer), new Date());
    await subscriber.connections.join('c', `order:${orderId}`, holding(retailer));
    const joined = await subscriber.orders.roomChanged(retailer, orderId);
    expect(joined.headSeq).toBe(before.seq);

    // The writer still remembers the head at epoch 0: its condition fails, it re-reads, and stores at epoch 1.
    const after = await post(writer.orders, orderId, 'w2');
    expect(after).toMatchObject({ seq: before.seq + 1, duplicate: false });
    expect((await streamed(orderId, after.seq)).roomEpoch).toBe(1);
  });

  it('moving the epoch of an order that does not exist is NOT_FOUND and creates nothing', async () => {
    const { orders } = processStores();
    await expect(orders.roomChanged(retailer, 'no-such-order')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const res = await tables.doc.send(
      new GetCommand({ TableName: tables.orders, Key: { pk: keys.order(tenant, 'no-such-order'), sk: keys.head }, ConsistentRead: true }),
    );
    expect(res.Item).toBeUndefined();
  });
});
