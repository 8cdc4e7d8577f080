/**
 * Connections and rooms over real sockets: a client that dies without a close
 * handshake does not hold up pushes to the others (the `@connections` API
 * answers 410 for it and fan-out drops it); unsubscribe stops a room's
 * pushes; subscribe's catch-up and its refusals.
 */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import WebSocket, { type RawData } from 'ws';
import { castOf, checkpoint, http, orderFor, uniqueId, uniqueTenant, type Cast, type Frame, socketPool } from '../support/client';
import { runtimeCredentials, signedFetch } from '../support/management';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('conn'));
});

async function headSeqOf(orderId: string): Promise<number> {
  const res = await http<{ order: { headSeq: number } }>(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}`, { token: cast.dispatcher });
  expect(res.status).toBe(200);
  return res.body.order.headSeq;
}

/** The order's headSeq once it has not moved for `quietMs`. */
async function settledHeadSeq(orderId: string, quietMs = 500): Promise<number> {
  let last = await headSeqOf(orderId);
  for (;;) {
    await sleep(quietMs);
    const now = await headSeqOf(orderId);
    if (now === last) return now;
    last = now;
  }
}

interface StreamStats {
  deadLetters: number;
}

const seqsOf = (events: Frame[]) => events.map((e) => e.seq as number);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('a client that dies without a close handshake', () => {
  it('does not stop pushes to the other subscribers of its room', async () => {
    const orderId = await orderFor(url, cast);
    const watcher = await connect(cast.dispatcher);
    const victim = await connect(cast.retailer);
    for (const c of [watcher, victim]) {
      expect(await c.request({ action: 'subscribe', room: `order:${orderId}` })).toMatchObject({ type: 'ack', headSeq: 2 });
    }
    victim.socket.terminate();
    await victim.closed;
    expect(victim.isOpen).toBe(false);

    const driver = await connect(cast.driver);
    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });
    await watcher.waitForEvent(`order:${orderId}`, (e) => e.seq === 3);
    expect(await driver.request(checkpoint(orderId, 'at_hub'))).toMatchObject({ type: 'ack', seq: 4 });
    await watcher.waitForEvent(`order:${orderId}`, (e) => e.seq === 4, 5_000);
    expect(seqsOf(watcher.events(`order:${orderId}`))).toEqual([3, 4]);
  });

  it('is answered 410 by the @connections API and dropped, while the others keep receiving everything', async () => {
    const stats = async () => (await http<StreamStats>(url, 'GET', '/_local/stream')).body;
    const deadBefore = (await stats()).deadLetters;
    const orderId = await orderFor(url, cast);
    const watcher = await connect(cast.dispatcher);
    const victim = await connect(cast.driver);
    for (const c of [watcher, victim]) {
      expect(await c.request({ action: 'subscribe', room: `order:${orderId}` })).toMatchObject({ type: 'ack', headSeq: 2 });
    }

    // Queue checkpoints on the victim and cut it off while the server is still
    // working through them: they are stored after its socket is gone but
    // before its $disconnect, so their fan-out finds it still in the room and
    // is told 410 Gone for it.
    const queued = 25;
    const firstAck = victim.next((f) => f.type === 'ack' && f.reqId === 'q-0');
    for (let i = 0; i < queued; i++) {
      victim.socket.send(JSON.stringify({ ...checkpoint(orderId, i === 0 ? 'picked_up' : 'at_hub', { note: `queued ${i}` }), reqId: `q-${i}` }));
    }
    await firstAck;
    victim.socket.terminate();
    await victim.closed;

    const head = await settledHeadSeq(orderId);
    const ackedBeforeDeath = victim.frames.filter((f) => f.type === 'ack' && typeof f.reqId === 'string' && f.reqId.startsWith('q-')).length;
    // Precondition: some queued checkpoints were stored after the socket died, so the 410 path ran.
    expect(head).toBeGreaterThan(2 + ackedBeforeDeath);
    await watcher.waitForEvent(`order:${orderId}`, (e) => e.seq === head);
    expect(seqsOf(watcher.events(`order:${orderId}`))).toEqual(range(3, head));

    // Pushes after the drop go on at once, and no record was dead-lettered.
    const driver = await connect(cast.driver);
    const ack = await driver.request(checkpoint(orderId, 'out_for_delivery'));
    expect(ack).toMatchObject({ type: 'ack', seq: head + 1 });
    await watcher.waitForEvent(`order:${orderId}`, (e) => e.seq === head + 1, 5_000);
    expect(seqsOf(watcher.events(`order:${orderId}`))).toEqual(range(3, head + 1));
    expect((await stats()).deadLetters).toBe(deadBefore);
  });

  it('has the @connections API answer 410 for a connection that does not exist', async () => {
    const id = `${uniqueId('gone').slice(0, 20)}=`;
    const post = await signedFetch(url, runtimeCredentials(), 'POST', `/@connections/${encodeURIComponent(id)}`, '{"type":"event"}');
    expect(post.status).toBe(410);
    await post.text();
    const get = await signedFetch(url, runtimeCredentials(), 'GET', `/@connections/${encodeURIComponent(id)}`);
    expect(get.status).toBe(410);
    await get.text();
    const del = await signedFetch(url, runtimeCredentials(), 'DELETE', `/@connections/${encodeURIComponent(id)}`);
    expect(del.status).toBe(410);
    await del.text();
  });
});

describe("the @connections API's message limit", () => {
  it('refuses a message over 128 KiB with 413 and pushes one of exactly 128 KiB', async () => {
    const userAgent = `limit-${uniqueId('ua')}`;
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(cast.retailer)}`, {
      headers: { 'user-agent': userAgent },
    });
    const received: number[] = [];
    socket.on('message', (data: RawData) => received.push((data as Buffer).length));
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    try {
      const list = await http<{ connectionId: string; userAgent: string }[]>(url, 'GET', '/_local/connections');
      const id = list.body.find((c) => c.userAgent === userAgent)!.connectionId;
      const at = `/@connections/${encodeURIComponent(id)}`;

      const over = await signedFetch(url, runtimeCredentials(), 'POST', at, 'x'.repeat(128 * 1024 + 1));
      expect(over.status).toBe(413);
      expect(over.headers.get('x-amzn-errortype')).toBe('PayloadTooLargeException');
      await over.text();

      const limit = await signedFetch(url, runtimeCredentials(), 'POST', at, 'y'.repeat(128 * 1024));
      expect(limit.status).toBe(200);
      await limit.text();
      for (let i = 0; i < 100 && received.length === 0; i++) await sleep(20);
      await sleep(100);
      expect(received).toEqual([128 * 1024]);
    } finally {
      socket.close();
    }
  });
});

describe('rooms', () => {
  it('stops pushing a room after unsubscribe, and only that room', async () => {
    const orderId = await orderFor(url, cast);
    const dispatcher = await connect(cast.dispatcher);
    const control = await connect(cast.retailer);
    const room = `order:${orderId}`;
    expect(await dispatcher.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack', room, headSeq: 2 });
    expect(await dispatcher.request({ action: 'subscribe', room: 'dispatch' })).toMatchObject({ type: 'ack', room: 'dispatch' });
    expect(await control.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack' });
    const driver = await connect(cast.driver);

    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });
    await dispatcher.waitForEvent(room, (e) => e.seq === 3);
    await dispatcher.waitForEvent('dispatch', (e) => e.orderId === orderId && e.seq === 3);

    expect(await dispatcher.request({ action: 'unsubscribe', room })).toMatchObject({ type: 'ack', room });
    expect(await driver.request(checkpoint(orderId, 'at_hub'))).toMatchObject({ type: 'ack', seq: 4 });
    expect(await driver.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: 'at the hub' })).toMatchObject({
      type: 'ack',
      seq: 5,
    });
    await control.waitForEvent(room, (e) => e.seq === 5);
    await dispatcher.waitForEvent('dispatch', (e) => e.orderId === orderId && e.seq === 4);
    await sleep(500);
    expect(seqsOf(dispatcher.events(room))).toEqual([3]);
    expect(seqsOf(control.events(room))).toEqual([3, 4, 5]);

    // Unsubscribing again is harmless; subscribing again catches up and goes live.
    expect(await dispatcher.request({ action: 'unsubscribe', room })).toMatchObject({ type: 'ack', room });
    const back = await dispatcher.request({ action: 'subscribe', room, sinceSeq: 3 });
    expect(back).toMatchObject({ type: 'ack', room, headSeq: 5 });
    expect(seqsOf(back.items as Frame[])).toEqual([4, 5]);
    expect(await driver.request(checkpoint(orderId, 'out_for_delivery'))).toMatchObject({ type: 'ack', seq: 6 });
    await dispatcher.waitForEvent(room, (e) => e.seq === 6);
  });

  it('pushes each event once to a connection that subscribed to its room twice', async () => {
    const orderId = await orderFor(url, cast);
    const retailer = await connect(cast.retailer);
    const room = `order:${orderId}`;
    expect(await retailer.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack' });
    expect(await retailer.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack', headSeq: 2 });
    const driver = await connect(cast.driver);
    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });
    expect(await driver.request(checkpoint(orderId, 'at_hub'))).toMatchObject({ type: 'ack', seq: 4 });
    await retailer.waitForEvent(room, (e) => e.seq === 4);
    await sleep(500);
    expect(seqsOf(retailer.events(room))).toEqual([3, 4]);
  });

  it('catches up from sinceSeq: everything after it, nothing when it is at or beyond headSeq', async () => {
    const orderId = await orderFor(url, cast);
    const retailer = await connect(cast.retailer);
    const room = `order:${orderId}`;
    const fromZero = await retailer.request({ action: 'subscribe', room, sinceSeq: 0 });
    expect(fromZero).toMatchObject({ type: 'ack', room, headSeq: 2 });
    expect(seqsOf(fromZero.items as Frame[])).toEqual([1, 2]);
    expect((fromZero.items as Frame[]).map((i) => i.kind)).toEqual(['created', 'assigned']);
    for (const sinceSeq of [2, 3, 1000]) {
      const ack = await retailer.request({ action: 'subscribe', room, sinceSeq });
      expect(ack, `sinceSeq ${sinceSeq}`).toMatchObject({ type: 'ack', room, headSeq: 2, items: [] });
      expect(ack.more ?? false).toBe(false);
    }
    expect(await headSeqOf(orderId)).toBe(2);
  });

  it('refuses an unknown order room with NOT_FOUND and a malformed room with VALIDATION', async () => {
    const dispatcher = await connect(cast.dispatcher);
    const unknown = await dispatcher.request({ action: 'subscribe', room: `order:${uniqueId('none')}`, sinceSeq: 0 });
    expect(unknown).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
    expect(unknown).not.toHaveProperty('items');
    for (const room of ['nonsense', 'order:', 'retailer:', `order:${'o'.repeat(129)}`, 42]) {
      expect(await dispatcher.request({ action: 'subscribe', room }), String(room)).toMatchObject({ type: 'error', code: 'VALIDATION' });
    }
    expect(await dispatcher.request({ action: 'subscribe', room: 'order:x', sinceSeq: -1 })).toMatchObject({ type: 'error', code: 'VALIDATION' });
    expect(dispatcher.isOpen).toBe(true);
    expect(await dispatcher.request({ action: 'ping' })).toMatchObject({ type: 'ack' });
  });
});
