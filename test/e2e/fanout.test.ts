/**
 * The core promise over real sockets: a driver's checkpoint is stored once
 * and pushed to the order room, the retailer's room and dispatch, in seq order.
 */
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueTenant, type Cast, socketPool } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

describe('checkpoint fan-out', () => {
  let cast: Cast;
  beforeAll(async () => {
    cast = await castOf(secret, uniqueTenant());
  });

  it('pushes a driver checkpoint to order, retailer and dispatch rooms with the next seq', async () => {
    const orderId = await orderFor(url, cast);
    const retailer = await connect(cast.retailer);
    const dispatcher = await connect(cast.dispatcher);
    const driver = await connect(cast.driver);
    const sub = await retailer.request({ action: 'subscribe', room: `order:${orderId}` });
    expect(sub).toMatchObject({ type: 'ack', room: `order:${orderId}`, headSeq: 2 });
    expect(await retailer.request({ action: 'subscribe', room: 'retailer:retailer-a' })).toMatchObject({ type: 'ack' });
    expect(await dispatcher.request({ action: 'subscribe', room: 'dispatch' })).toMatchObject({ type: 'ack', room: 'dispatch' });

    const ack = await driver.request(checkpoint(orderId, 'picked_up', { location: { lat: 51.5, lng: -0.1, accuracyM: 8 } }));
    expect(ack).toMatchObject({ type: 'ack', orderId, seq: 3, status: 'picked_up', duplicate: false });

    const inOrderRoom = await retailer.waitForEvent(`order:${orderId}`, (e) => e.seq === 3);
    expect(inOrderRoom).toMatchObject({
      orderId,
      seq: 3,
      kind: 'checkpoint',
      status: 'picked_up',
      actor: { sub: 'driver-1', role: 'driver' },
      location: { lat: 51.5, lng: -0.1, accuracyM: 8 },
    });
    expect(typeof inOrderRoom.at).toBe('string');
    await retailer.waitForEvent('retailer:retailer-a', (e) => e.orderId === orderId && e.seq === 3);
    await dispatcher.waitForEvent('dispatch', (e) => e.orderId === orderId && e.seq === 3);
  });

  it('replays the catch-up on subscribe with sinceSeq, gapless and in order', async () => {
    const orderId = await orderFor(url, cast);
    const driver = await connect(cast.driver);
    for (const status of ['picked_up', 'at_hub', 'at_hub', 'out_for_delivery']) {
      expect(await driver.request(checkpoint(orderId, status))).toMatchObject({ type: 'ack' });
    }
    const retailer = await connect(cast.retailer);
    const ack = await retailer.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 1 });
    expect(ack).toMatchObject({ type: 'ack', headSeq: 6, more: false });
    const items = ack.items as { seq: number; kind: string }[];
    expect(items.map((i) => i.seq)).toEqual([2, 3, 4, 5, 6]);
    expect(items.map((i) => i.kind)).toEqual(['assigned', 'checkpoint', 'checkpoint', 'checkpoint', 'checkpoint']);

    const timeline = await http<{ items: { seq: number }[]; headSeq: number }>(url, 'GET', `/api/orders/${orderId}/timeline?sinceSeq=4`, {
      token: cast.retailer,
    });
    expect(timeline.status).toBe(200);
    expect(timeline.body.headSeq).toBe(6);
    expect(timeline.body.items.map((i) => i.seq)).toEqual([5, 6]);
  });

  it('delivers every event of an order to a subscriber once, in seq order', async () => {
    const orderId = await orderFor(url, cast);
    const retailer = await connect(cast.retailer);
    await retailer.request({ action: 'subscribe', room: `order:${orderId}` });
    const driver = await connect(cast.driver);
    const posts = [];
    for (let i = 0; i < 20; i++) {
      posts.push(
        driver.request(
          i % 2 === 0
            ? checkpoint(orderId, 'picked_up', { note: `update ${i}` })
            : { action: 'message', messageId: `m-${orderId}-${i}`, orderId, text: `hello ${i}` },
        ),
      );
    }
    const acks = await Promise.all(posts);
    expect(acks.every((a) => a.type === 'ack')).toBe(true);
    await retailer.waitForEvent(`order:${orderId}`, (e) => e.seq === 22);
    const seqs = retailer.events(`order:${orderId}`).map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 3));
  });
});
