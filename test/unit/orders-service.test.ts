/**
 * OrdersService on the in-memory fakes (no DynamoDB): creating an order
 * (once, with its SLA clock), a checkpoint refused as an illegal transition
 * (nothing stored), a late checkpoint (recorded, changes nothing) and
 * replays (the same request acks as before, another one is CONFLICT, a
 * stranger learns nothing).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
import type { SlaPolicy } from '../../shared/domain/sla';
import { OrdersService } from '../../shared/services/orders-service';
import { InMemoryOrderStore, InMemoryPolicyStore } from '../support/fakes';
import { checkpoint, CREATE_BODY, dispatcher, driver1, driver2, retailerA, retailerB } from './fixtures';

/** The server's clock: 90 minutes after the fixtures' device time (T0). */
const NOW = new Date('2024-05-01T09:30:00.000Z');
const POLICY: SlaPolicy = { dwellSeconds: { created: 3600, picked_up: 7200 }, escalation: [{ afterSeconds: 0, notify: 'dispatch' }] };

let store: InMemoryOrderStore;
let service: OrdersService;

beforeEach(() => {
  store = new InMemoryOrderStore();
  service = new OrdersService({ orders: store, policies: new InMemoryPolicyStore(POLICY), now: () => NOW });
});

/** ord-1 of retailer ret-A, assigned to drv-1 (seq 1 created, 2 assigned). */
async function assignedOrder(): Promise<void> {
  await service.create(retailerA, CREATE_BODY);
  await service.assign(dispatcher, 'ord-1', driver1.sub);
}

const seqs = async () => (await store.timeline('acme', 'ord-1', 0, 100)).map((e) => e.seq);

describe('OrdersService.create', () => {
  it('creates an order once, with its SLA clock from the policy; the same body again is not an error, another is CONFLICT', async () => {
    const first = await service.create(retailerA, CREATE_BODY);
    const again = await service.create(retailerA, { ...CREATE_BODY });
    const other = service.create(retailerA, { ...CREATE_BODY, destination: { address: '2 Other St' } });

    expect(first).toMatchObject({ created: true, order: { orderId: 'ord-1', status: 'created', headSeq: 1, dueAt: '2024-05-01T10:30:00.000Z' } });
    expect(again).toEqual({ created: false, order: first.order });
    await expect(other).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await seqs()).toEqual([1]);
  });

  it("refuses to create for another retailer, and does not show an existing order to a retailer who may not see it", async () => {
    await expect(service.create(retailerB, CREATE_BODY)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await service.create(retailerA, CREATE_BODY);
    await expect(service.get(retailerB, 'ord-1')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(service.get({ ...dispatcher, tenant: 'elsewhere' }, 'ord-1')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('OrdersService.checkpoint', () => {
  it('refuses an illegal transition with ILLEGAL_TRANSITION and stores nothing, not even the id', async () => {
    await assignedOrder();
    const before = await store.getOrder('acme', 'ord-1');

    const refused = service.checkpoint(driver1, checkpoint('delivered', { eventId: 'bad-1' }));

    await expect(refused).rejects.toMatchObject({ code: 'ILLEGAL_TRANSITION', details: { from: 'created', to: 'delivered' } });
    expect(await store.getOrder('acme', 'ord-1')).toEqual(before);
    expect(await seqs()).toEqual([1, 2]);
    // The id was not spent: a legal checkpoint may use it.
    expect(await service.checkpoint(driver1, checkpoint('picked_up', { eventId: 'bad-1' }))).toMatchObject({ seq: 3, duplicate: false });
  });

  it('records a late checkpoint with late: true and applied: false, changing neither status nor clock', async () => {
    await assignedOrder();
    await service.checkpoint(driver1, checkpoint('picked_up', { eventId: 'p-1', occurredAt: '2024-05-01T09:00:00Z' }));
    const before = await store.getOrder('acme', 'ord-1');

    const late = await service.checkpoint(driver1, checkpoint('in_transit', { eventId: 'l-1', occurredAt: '2024-05-01T08:30:00Z' }));

    expect(late).toEqual({ orderId: 'ord-1', seq: 4, status: 'picked_up', applied: false, duplicate: false });
    const after = await store.getOrder('acme', 'ord-1');
    expect(after).toEqual({ ...before, headSeq: 4, updatedAt: NOW.toISOString() });
    expect((await store.timeline('acme', 'ord-1', 3, 1))[0]).toMatchObject({ kind: 'checkpoint', status: 'in_transit', late: true, statusChanged: false });
  });

  it('acks a replay as the original did, with duplicate: true; another request under the id is CONFLICT; nothing more is stored', async () => {
    await assignedOrder();
    const frame = checkpoint('picked_up', { eventId: 'cp-1', note: 'at the dock' });
    const first = await service.checkpoint(driver1, frame);
    await service.checkpoint(driver1, checkpoint('in_transit', { eventId: 'cp-2' }));

    const replay = await service.checkpoint(driver1, { ...frame, reqId: 'another-req' });
    const changed = service.checkpoint(driver1, { ...frame, note: 'elsewhere' });
    const asMessage = service.message(driver1, { action: 'message', messageId: 'cp-1', orderId: 'ord-1', text: 'hi' });

    expect(first).toEqual({ orderId: 'ord-1', seq: 3, status: 'picked_up', applied: true, duplicate: false });
    expect(replay).toEqual({ ...first, duplicate: true });
    await expect(changed).rejects.toMatchObject({ code: 'CONFLICT', details: { field: 'eventId', id: 'cp-1', usedFor: 'checkpoint' } });
    await expect(asMessage).rejects.toMatchObject({ code: 'CONFLICT', details: { field: 'messageId', usedFor: 'checkpoint' } });
    expect(await seqs()).toEqual([1, 2, 3, 4]);
  });

  it('tells a used id to nobody who may not see the order: FORBIDDEN, not CONFLICT or duplicate', async () => {
    await assignedOrder();
    await service.checkpoint(driver1, checkpoint('picked_up', { eventId: 'secret' }));
    const stranger: Principal = driver2;

    await expect(service.checkpoint(stranger, checkpoint('picked_up', { eventId: 'secret' }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(service.checkpoint(stranger, checkpoint('picked_up', { eventId: 'secret', note: 'x' }))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await service.checkpoint(dispatcher, checkpoint('picked_up', { eventId: 'secret' }))).toMatchObject({ seq: 3, duplicate: true });
  });

  it('gives concurrent posts to one order gapless, unique seqs', async () => {
    await assignedOrder();
    const acks = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 2 === 0
          ? service.checkpoint(driver1, checkpoint('picked_up', { eventId: `c-${i}`, note: `post ${i}` }))
          : service.message(driver1, { action: 'message', messageId: `c-${i}`, orderId: 'ord-1', text: `post ${i}` }),
      ),
    );

    expect(acks.map((a) => a.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 3));
    expect(await seqs()).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
  });
});
