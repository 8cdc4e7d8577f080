/**
 * CONTRACT §5's limits on one connection, over real sockets: at most 500
 * rooms (`LIMIT_EXCEEDED`, the socket stays open).
 */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, orderFor, socketPool, uniqueTenant, type Cast, type Frame, type WsClient } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('lim'));
});

/**
 * Requests on one socket within the gateway's rate limit (20 frames a second
 * sustained, bursts of 100): a burst of 80 first, then one frame every 50 ms,
 * which keeps 20 frames of the burst in hand for timing jitter.
 */
function pacer(ws: WsClient): (frame: Frame) => Promise<Frame> {
  let credit = 80;
  let last = Date.now();
  let queue = Promise.resolve();
  return (frame) => {
    const sent = queue.then(async () => {
      credit = Math.min(80, credit + ((Date.now() - last) / 1000) * 20);
      last = Date.now();
      if (credit < 1) {
        await sleep(((1 - credit) / 20) * 1000);
        credit = 1;
        last = Date.now();
      }
      credit -= 1;
    });
    queue = sent;
    return sent.then(() => ws.request(frame, 30_000));
  };
}

describe('rooms per connection (CONTRACT §5: more than 500 is LIMIT_EXCEEDED)', () => {
  it('holds 500 rooms, refuses a 501st with LIMIT_EXCEEDED, stays open and usable, and frees a slot on unsubscribe', async () => {
    // Arrange: 499 retailer rooms and one order room, as a dispatcher may hold
    const orderId = await orderFor(url, cast);
    const ws = await connect(cast.dispatcher);
    const send = pacer(ws);
    const rooms = [...range(0, 498).map((i) => `retailer:r-${i}`), `order:${orderId}`];
    const acks = await Promise.all(rooms.map((room) => send({ action: 'subscribe', room })));
    expect(acks.filter((a) => a.type !== 'ack')).toEqual([]);

    // Act
    const refused = await send({ action: 'subscribe', room: 'dispatch', reqId: 'the-501st' });
    const heldAgain = await send({ action: 'subscribe', room: 'retailer:r-5' });
    const orderAgain = await send({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 1 });
    const left = await send({ action: 'unsubscribe', room: 'retailer:r-0' });
    const joined = await send({ action: 'subscribe', room: 'dispatch' });
    const fullAgain = await send({ action: 'subscribe', room: 'retailer:r-0' });
    const ping = await send({ action: 'ping' });

    // Assert
    expect(refused).toMatchObject({ type: 'error', reqId: 'the-501st', code: 'LIMIT_EXCEEDED', details: { limit: 500 } });
    expect(refused.message).toMatch(/500 rooms/);
    expect(heldAgain).toMatchObject({ type: 'ack', room: 'retailer:r-5' });
    expect(orderAgain).toMatchObject({ type: 'ack', room: `order:${orderId}`, headSeq: 2, items: [{ seq: 2 }], more: false });
    expect(left).toMatchObject({ type: 'ack', room: 'retailer:r-0' });
    expect(joined).toMatchObject({ type: 'ack', room: 'dispatch' });
    expect(fullAgain).toMatchObject({ type: 'error', code: 'LIMIT_EXCEEDED' });
    expect(ping).toMatchObject({ type: 'ack' });
    expect(ws.isOpen).toBe(true);
    // Pushes still come, to the order room and to dispatch, joined after the refusal
    const driver = await connect(cast.driver);
    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });
    await ws.waitForEvent(`order:${orderId}`, (e) => e.seq === 3);
    await ws.waitForEvent('dispatch', (e) => e.orderId === orderId && e.seq === 3);
  }, 60_000);
});
