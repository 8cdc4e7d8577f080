/**
 * CONTRACT §5's limits on one connection, over real sockets: at most 500
 * rooms (`LIMIT_EXCEEDED`, the socket stays open), and a subscribe ack of at
 * most 128 KiB (the catch-up is cut earlier, by size, with `more: true`).
 */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, socketPool, uniqueTenant, type Cast, type Frame, type WsClient } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const utf8 = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

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

describe('subscribe ack size (CONTRACT §5: at most 128 KiB, cut by size with more: true)', () => {
  it('cuts a catch-up of long multi-byte texts to whole events within 131072 bytes, and HTTP pages the rest', async () => {
    // Arrange: events of up to 4,000 characters whose UTF-8 is two to three times longer
    const orderId = await orderFor(url, cast);
    const driver = await connect(cast.driver);
    const long = (seed: string) => `${seed} ${'漢字é😀"\n'.repeat(800)}`.slice(0, 4000);
    const frames: Frame[] = [
      checkpoint(orderId, 'picked_up', { note: long('picked up') }),
      ...range(1, 40).map((i) =>
        i % 10 === 0
          ? checkpoint(orderId, 'picked_up', { note: long(`update ${i}`) })
          : { action: 'message', messageId: `m-${i}`, orderId, text: i % 7 === 0 ? `short ${i}` : long(`message ${i}`) },
      ),
    ];
    for (const frame of frames) expect(await driver.request(frame)).toMatchObject({ type: 'ack' });
    const headSeq = 2 + frames.length;

    // Act
    const retailer = await connect(cast.retailer);
    const ack = await retailer.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 1, reqId: 'catch-up' });

    // Assert: within the limit, whole events from sinceSeq + 1, cut with more: true
    expect(ack).toMatchObject({ type: 'ack', reqId: 'catch-up', headSeq, more: true });
    expect(retailer.bytesOf(ack)).toBeLessThanOrEqual(131_072);
    const items = ack.items as Frame[];
    expect(items.length).toBeGreaterThan(0);
    expect(items.map((e) => e.seq)).toEqual(range(2, 1 + items.length));
    // The rest over HTTP; the ack's events are the timeline's, and the next one would not have fitted
    const lastSeq = 1 + items.length;
    const rest = await http<{ items: Frame[]; headSeq: number }>(url, 'GET', `/api/orders/${orderId}/timeline?sinceSeq=${lastSeq}`, {
      token: cast.retailer,
    });
    expect(rest.status).toBe(200);
    expect(rest.body.items.map((e) => e.seq)).toEqual(range(lastSeq + 1, headSeq));
    const next = rest.body.items[0];
    expect(retailer.bytesOf(ack) + utf8(next) + 1).toBeGreaterThan(131_072);
    const overlap = await http<{ items: Frame[] }>(url, 'GET', `/api/orders/${orderId}/timeline?sinceSeq=1&limit=${items.length}`, {
      token: cast.retailer,
    });
    expect(overlap.body.items).toEqual(items);
  }, 60_000);
});
