/**
 * FanoutService on the in-memory fakes (no DynamoDB, no API Gateway): an
 * event reaches the members of its order, retailer and dispatch rooms; a
 * member whose right went is told `revoked` once and never gets the event;
 * an expired member is closed and removed; a gone (410) one is removed; a
 * failed push is retried for the member that missed it only.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import { FanoutError, FanoutService } from '../../shared/services/fanout-service';
import { OrdersService } from '../../shared/services/orders-service';
import type { RoutedEvent } from '../../shared/store/stream-records';
import { InMemoryConnectionStore, InMemoryOrderStore, InMemoryPolicyStore, RecordingLogger, RecordingNotifier } from '../support/fakes';
import { checkpoint, CREATE_BODY, dispatcher, driver1, driver2, retailerA, TENANT } from './fixtures';

const nowSeconds = () => Math.floor(Date.now() / 1000);

let orderStore: InMemoryOrderStore;
let connections: InMemoryConnectionStore;
let orders: OrdersService;
let api: RecordingNotifier;
let fanout: FanoutService;

beforeEach(async () => {
  orderStore = new InMemoryOrderStore();
  connections = new InMemoryConnectionStore();
  // The service's clock is the real one (the fan-out checks token expiry against Date.now).
  orders = new OrdersService({ orders: orderStore, policies: new InMemoryPolicyStore(DEFAULT_SLA_POLICY) });
  api = new RecordingNotifier();
  fanout = new FanoutService(connections, api, new RecordingLogger(), orderStore);
  await orders.create(retailerA, CREATE_BODY);
  await orders.assign(dispatcher, 'ord-1', driver1.sub);
});

/** A connection of `principal` in `room` (an order room's epoch moved, as subscribe does), its token good for `ttl` seconds. */
async function member(connectionId: string, principal: Principal, room: string, ttl = 3600): Promise<void> {
  const holder = { principal, exp: nowSeconds() + ttl };
  await connections.put(connectionId, holder, new Date());
  expect(await connections.join(connectionId, room, holder)).toBe(true);
  if (room.startsWith('order:')) await orderStore.bumpRoomEpoch(TENANT, 'ord-1');
  api.open(connectionId);
}

/** The newest event on the stream, as the fan-out gets it. */
const newest = (): RoutedEvent => orderStore.table.stream().at(-1)!;

/** A status change: it goes to the order room and both feeds. */
const pickUp = async (eventId = 'cp-1') => {
  await orders.checkpoint(driver1, checkpoint('picked_up', { eventId, occurredAt: new Date().toISOString() }));
  return newest();
};

describe('FanoutService.deliver', () => {
  it('pushes an event to the members of its order, retailer and dispatch rooms, once each', async () => {
    await member('drv', driver1, 'order:ord-1');
    await member('ret', retailerA, 'retailer:ret-A');
    await member('disp', dispatcher, 'dispatch');
    await member('other-ret', { ...retailerA, sub: 'x', retailerId: 'ret-B' }, 'retailer:ret-B');
    const routed = await pickUp();

    const result = await fanout.deliver(routed);

    expect(result).toEqual({ sent: 3, gone: 0 });
    expect(api.framesOf('drv')).toEqual([{ type: 'event', room: 'order:ord-1', event: routed.event }]);
    expect(api.framesOf('ret')).toEqual([{ type: 'event', room: 'retailer:ret-A', event: routed.event }]);
    expect(api.framesOf('disp')).toEqual([{ type: 'event', room: 'dispatch', event: routed.event }]);
    expect(api.framesOf('other-ret')).toEqual([]);
  });

  it('tells a member whose right went `revoked` once, never the event, removes it and moves the room epoch', async () => {
    await member('drv', driver1, 'order:ord-1');
    await member('disp', dispatcher, 'order:ord-1');
    await orders.assign(dispatcher, 'ord-1', driver2.sub);
    const reassigned = newest();

    const first = await fanout.deliver(reassigned);
    const retried = await fanout.deliver(reassigned);
    await orders.message(dispatcher, { action: 'message', messageId: 'after', orderId: 'ord-1', text: 'still here' });
    const after = newest();
    await fanout.deliver(after);

    expect(reassigned).toMatchObject({ driverId: driver2.sub, event: { kind: 'assigned' } });
    expect(first).toEqual({ sent: 1, gone: 0 });
    expect(retried).toEqual({ sent: 1, gone: 0 });
    expect(api.framesOf('drv')).toEqual([{ type: 'revoked', room: 'order:ord-1', reason: 'unassigned' }]);
    expect(api.eventSeqsOf('disp')).toEqual([reassigned.event.seq, reassigned.event.seq, after.event.seq]);
    expect(await connections.members(TENANT, 'order:ord-1')).toEqual(['disp']);
    expect(after.roomEpoch).toBe((reassigned.roomEpoch ?? 0) + 1);
  });

  it('tells `revoked` once even when two processes that both kept the member list push the event', async () => {
    await member('drv', driver1, 'order:ord-1');
    const elsewhere = new FanoutService(connections, api, new RecordingLogger(), orderStore);
    // The other process reads and keeps the room's members (drv among them) for an earlier event.
    await elsewhere.deliver(await pickUp());
    await orders.assign(dispatcher, 'ord-1', driver2.sub);
    const reassigned = newest();

    await fanout.deliver(reassigned);
    await elsewhere.deliver(reassigned);

    expect(api.framesOf('drv').filter((f) => f.type === 'revoked')).toEqual([{ type: 'revoked', room: 'order:ord-1', reason: 'unassigned' }]);
    expect(api.eventSeqsOf('drv')).not.toContain(reassigned.event.seq);
  });

  it('closes and removes a member whose token has expired, sending it nothing', async () => {
    await member('live', retailerA, 'order:ord-1');
    await member('expired', retailerA, 'order:ord-1', -10);
    const routed = await pickUp();

    const result = await fanout.deliver(routed);

    expect(result).toEqual({ sent: 1, gone: 0 });
    expect(api.framesOf('expired')).toEqual([]);
    expect(api.closed).toEqual(['expired']);
    expect(await connections.get('expired')).toBeNull();
    expect(await connections.members(TENANT, 'order:ord-1')).toEqual(['live']);
  });

  it('removes a gone (410) member, and retries a failed push for that member alone', async () => {
    await member('live', retailerA, 'order:ord-1');
    await member('flaky', retailerA, 'order:ord-1');
    await member('dead', retailerA, 'order:ord-1');
    api.drop('dead');
    api.failNext('flaky');
    const routed = await pickUp();

    await expect(fanout.deliver(routed)).rejects.toBeInstanceOf(FanoutError);
    const retry = await fanout.deliver(routed);

    expect(retry).toEqual({ sent: 1, gone: 0 });
    expect(api.eventSeqsOf('live')).toEqual([routed.event.seq]);
    expect(api.eventSeqsOf('flaky')).toEqual([routed.event.seq]);
    expect(await connections.get('dead')).toBeNull();
    expect(await connections.members(TENANT, 'order:ord-1')).toEqual(['flaky', 'live']);
  });
});
