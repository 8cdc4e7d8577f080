/**
 * Fan-out with real room memberships in DynamoDB Local and an `@connections`
 * that answers 410 for one member and fails once for another: the gone one is
 * removed, the live ones receive, a retry reaches only the member that missed
 * it, nothing is dropped.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { CheckpointEvent, Principal } from '../../shared/domain/model';
import { createLogger } from '../../shared/runtime/log';
import { FanoutError, FanoutService } from '../../shared/services/fanout-service';
import { DynamoConnectionStore } from '../../shared/store/connection-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import type { Notifier } from '../../shared/store/notifier';
import { createTestTables, type TestTables } from '../support/tables';

/** What API Gateway's `@connections` would answer, scripted per connection (API Gateway itself cannot run here). */
class ScriptedConnections implements Notifier {
  readonly received = new Map<string, string[]>();
  readonly gone = new Set<string>();
  failOnce = new Set<string>();
  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    if (this.failOnce.delete(connectionId)) throw new Error('500 Internal Server Error');
    this.received.set(connectionId, [...(this.received.get(connectionId) ?? []), data]);
    return 'sent';
  }
  readonly closed: string[] = [];
  async disconnect(connectionId: string): Promise<'closed' | 'gone'> {
    if (this.gone.has(connectionId)) return 'gone';
    this.closed.push(connectionId);
    this.gone.add(connectionId);
    return 'closed';
  }
}

const tenant = 'fan-1';
const p: Principal = { tenant, role: 'retailer', sub: 'r', retailerId: 'r1' };
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;
let tables: TestTables;
let store: DynamoConnectionStore;
let orderStore: DynamoOrderStore;

beforeAll(async () => {
  tables = await createTestTables(inject('dynamodbEndpoint'));
  store = new DynamoConnectionStore(tables.doc, tables.connections);
  orderStore = new DynamoOrderStore(tables.doc, tables.orders);
  for (const id of ['live', 'flaky', 'dead']) {
    await store.put(id, { principal: p, exp: inAnHour() }, new Date());
    await store.join(id, 'order:o1', { principal: p, exp: inAnHour() });
  }
});

const event = (seq: number): CheckpointEvent => ({
  orderId: 'o1',
  seq,
  kind: 'checkpoint',
  at: new Date().toISOString(),
  actor: { sub: 'd', role: 'driver' },
  eventId: `e${seq}`,
  status: 'picked_up',
  previousStatus: 'picked_up',
  statusChanged: false,
  occurredAt: new Date().toISOString(),
});

describe('FanoutService', () => {
  it('removes gone members, keeps live ones, and retries only the member that failed', async () => {
    const api = new ScriptedConnections();
    api.gone.add('dead');
    api.failOnce.add('flaky');
    const fanout = new FanoutService(store, api, createLogger(), orderStore);

    await expect(fanout.deliver({ tenant, retailerId: 'r1', event: event(7) })).rejects.toBeInstanceOf(FanoutError);
    expect(api.received.get('live')).toHaveLength(1);
    expect(api.received.get('flaky')).toBeUndefined();
    expect(await store.members(tenant, 'order:o1')).not.toContain('dead');
    expect(await store.get('dead')).toBeNull();

    // The stream retries the record: only the member that missed it gets it now.
    expect(await fanout.deliver({ tenant, retailerId: 'r1', event: event(7) })).toEqual({ sent: 1, gone: 0 });
    expect(api.received.get('live')).toHaveLength(1);
    expect(api.received.get('flaky')).toHaveLength(1);
    const frame = JSON.parse(api.received.get('flaky')![0]!) as { type: string; room: string; event: { seq: number } };
    expect(frame).toMatchObject({ type: 'event', room: 'order:o1', event: { seq: 7 } });

    // The next event goes to both, once.
    expect(await fanout.deliver({ tenant, retailerId: 'r1', event: event(8) })).toEqual({ sent: 2, gone: 0 });
  });
});
