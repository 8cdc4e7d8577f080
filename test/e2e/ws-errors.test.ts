/**
 * CONTRACT §5, the unhappy paths of the WebSocket API: every bad frame gets
 * its error code, never closes the socket (except past 128 KiB, 1009) and
 * never stores anything; replays ack with the original seq; every request
 * with a reqId gets exactly one reply.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueId, uniqueTenant, type WsClient, type Cast, type Frame, socketPool } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KiB = 1024;

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('wserr'));
});

interface OrderState {
  headSeq: number;
  status: string;
  timelineHeadSeq: number;
  timelineSeqs: number[];
}

/** What the order looks like over HTTP, to compare before and after a bad frame. */
async function orderState(orderId: string): Promise<OrderState> {
  const id = encodeURIComponent(orderId);
  const order = await http<{ order: { headSeq: number; status: string } }>(url, 'GET', `/api/orders/${id}`, { token: cast.dispatcher });
  expect(order.status).toBe(200);
  const timeline = await http<{ items: { seq: number }[]; headSeq: number }>(url, 'GET', `/api/orders/${id}/timeline`, {
    token: cast.dispatcher,
  });
  expect(timeline.status).toBe(200);
  return {
    headSeq: order.body.order.headSeq,
    status: order.body.order.status,
    timelineHeadSeq: timeline.body.headSeq,
    timelineSeqs: timeline.body.items.map((i) => i.seq),
  };
}

/** An order of retailer-a, assigned to driver-1, moved on to out_for_delivery (headSeq 4). */
async function orderOutForDelivery(driver: WsClient): Promise<string> {
  const orderId = await orderFor(url, cast);
  expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });
  expect(await driver.request(checkpoint(orderId, 'out_for_delivery'))).toMatchObject({ type: 'ack', seq: 4 });
  return orderId;
}

/** The socket is still open and still answers. */
async function expectStillServing(client: WsClient): Promise<void> {
  expect(client.isOpen).toBe(true);
  const pong = await client.request({ action: 'ping' });
  expect(pong).toMatchObject({ type: 'ack' });
  expect(typeof pong.now).toBe('string');
}

/** Replies (ack or error) carrying this reqId. */
function repliesTo(client: WsClient, reqId: string): Frame[] {
  return client.frames.filter((f) => (f.type === 'ack' || f.type === 'error') && f.reqId === reqId);
}

/** Send text as it is and wait for the reply carrying `reqId`. */
function sendTextFor(client: WsClient, text: string, reqId: string): Promise<Frame> {
  const reply = client.next((f) => (f.type === 'ack' || f.type === 'error') && f.reqId === reqId);
  client.socket.send(text);
  return reply;
}

/** A frame of exactly `bytes` bytes (UTF-8): `frame` plus an ignored `pad` field. */
function frameOfSize(frame: Frame, bytes: number): string {
  const base = JSON.stringify({ ...frame, pad: '' });
  const padLength = bytes - Buffer.byteLength(base, 'utf8');
  if (padLength < 0) throw new Error('frame already larger than wanted');
  const text = JSON.stringify({ ...frame, pad: 'x'.repeat(padLength) });
  expect(Buffer.byteLength(text, 'utf8')).toBe(bytes);
  return text;
}

describe('frames that are not requests', () => {
  it('answers non-JSON text with BAD_JSON and no reqId, and keeps serving', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const before = await orderState(orderId);

    for (const text of ['not json at all', '{"action":"ping","reqId":"r-1"', `{"action":"checkpoint","orderId":"${orderId}",}`, '']) {
      const reply = await driver.sendRaw(text);
      expect(reply).toMatchObject({ type: 'error', code: 'BAD_JSON' });
      expect(reply).not.toHaveProperty('reqId');
      expect(typeof reply.message).toBe('string');
      await expectStillServing(driver);
    }
    await sleep(300);
    expect(driver.frames.filter((f) => f.type === 'error' && f.code === 'BAD_JSON')).toHaveLength(4);
    expect(await orderState(orderId)).toEqual(before);
  });

  it('answers a binary frame that is not JSON with BAD_JSON and keeps serving', async () => {
    const driver = await connect(cast.driver);
    const reply = await driver.sendRaw(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x7b]));
    expect(reply).toMatchObject({ type: 'error', code: 'BAD_JSON' });
    expect(reply).not.toHaveProperty('reqId');
    await expectStillServing(driver);
  });

  it.each([
    ['a JSON array', '[{"action":"ping"}]'],
    ['a JSON number', '42'],
    ['a JSON string', '"ping"'],
    ['JSON null', 'null'],
  ])('answers %s with VALIDATION and keeps serving', async (_name, text) => {
    const driver = await connect(cast.driver);
    const reply = await driver.sendRaw(text);
    expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION' });
    expect(reply).not.toHaveProperty('reqId');
    await expectStillServing(driver);
  });

  it('answers a frame without action with VALIDATION naming "action", reqId echoed', async () => {
    const driver = await connect(cast.driver);
    const reqId = uniqueId('req');
    const reply = await driver.request({ reqId, orderId: 'whatever' });
    expect(reply).toMatchObject({ type: 'error', reqId, code: 'VALIDATION' });
    expect(reply.message).toMatch(/action/);
    const nonString = await driver.request({ action: 42 });
    expect(nonString).toMatchObject({ type: 'error', code: 'VALIDATION' });
    await expectStillServing(driver);
    await sleep(200);
    expect(repliesTo(driver, reqId)).toHaveLength(1);
  });

  it('answers an unknown action with UNKNOWN_ACTION, reqId echoed', async () => {
    const driver = await connect(cast.driver);
    const reqId = uniqueId('req');
    const reply = await driver.request({ action: 'teleport', reqId, orderId: 'x' });
    expect(reply).toMatchObject({ type: 'error', reqId, code: 'UNKNOWN_ACTION' });
    expect(typeof reply.message).toBe('string');
    await expectStillServing(driver);
    await sleep(200);
    expect(repliesTo(driver, reqId)).toHaveLength(1);
  });
});

describe('checkpoint and message validation', () => {
  type Case = [name: string, build: (orderId: string) => Frame, field: RegExp];
  const cases: Case[] = [
    ['a status not in the table', (o) => checkpoint(o, 'teleported'), /\bstatus\b/],
    ['a status of the wrong type', (o) => checkpoint(o, 'out_for_delivery', { status: 7 }), /\bstatus\b/],
    ['occurredAt without a zone', (o) => checkpoint(o, 'out_for_delivery', { occurredAt: '2025-03-01T10:00:00' }), /\boccurredAt\b/],
    ['occurredAt that is not a time', (o) => checkpoint(o, 'out_for_delivery', { occurredAt: 'yesterday' }), /\boccurredAt\b/],
    ['a missing occurredAt', (o) => checkpoint(o, 'out_for_delivery', { occurredAt: undefined }), /\boccurredAt\b/],
    ['lat 91', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: 91, lng: 0 } }), /\blat\b/],
    ['lat -90.5', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: -90.5, lng: 0 } }), /\blat\b/],
    ['lng -181', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: 0, lng: -181 } }), /\blng\b/],
    ['lng 180.1', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: 0, lng: 180.1 } }), /\blng\b/],
    ['accuracyM -1', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: 1, lng: 1, accuracyM: -1 } }), /\baccuracyM\b/],
    ['accuracyM 1e21 (beyond what storage takes)', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: 1, lng: 1, accuracyM: 1e21 } }), /\baccuracyM\b/],
    ['lat 1e-131 (below what storage takes)', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: 1e-131, lng: 0 } }), /\blat\b/],
    ['a location attachment at lat 1e-200', (o) => ({ action: 'message', messageId: uniqueId('msg'), orderId: o, attachment: { kind: 'location', lat: 1e-200, lng: 0 } }), /\blat\b/],
    ['lat given as a string', (o) => checkpoint(o, 'out_for_delivery', { location: { lat: '51.5', lng: 0 } }), /\blat\b/],
    ['an empty orderId', () => checkpoint('', 'out_for_delivery'), /\borderId\b/],
    ['a missing eventId', (o) => checkpoint(o, 'out_for_delivery', { eventId: undefined }), /\beventId\b/],
    ['an empty eventId', (o) => checkpoint(o, 'out_for_delivery', { eventId: '' }), /\beventId\b/],
    ['a 129-character eventId', (o) => checkpoint(o, 'out_for_delivery', { eventId: 'e'.repeat(129) }), /\beventId\b/],
    ['delivered without proof', (o) => checkpoint(o, 'delivered'), /\bproof\b/],
    [
      'delivered with an unknown proof.recipientType',
      (o) => checkpoint(o, 'delivered', { proof: { recipientType: 'dog' } }),
      /\brecipientType\b/,
    ],
    ['attempt_failed without reason', (o) => checkpoint(o, 'attempt_failed'), /\breason\b/],
    ['exception without reason', (o) => checkpoint(o, 'exception'), /\breason\b/],
    [
      'a message text of 4001 characters',
      (o) => ({ action: 'message', messageId: uniqueId('msg'), orderId: o, text: 'x'.repeat(4001) }),
      /\btext\b/,
    ],
    ['a message with an empty orderId', () => ({ action: 'message', messageId: uniqueId('msg'), orderId: '', text: 'hi' }), /\borderId\b/],
    [
      'a message with a 129-character messageId',
      (o) => ({ action: 'message', messageId: 'm'.repeat(129), orderId: o, text: 'hi' }),
      /\bmessageId\b/,
    ],
  ];

  it.each(cases)('refuses %s with VALIDATION naming the field; socket open, order unchanged', async (_name, build, field) => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const before = await orderState(orderId);
    expect(before).toMatchObject({ headSeq: 4, status: 'out_for_delivery' });

    const reqId = uniqueId('req');
    const reply = await driver.request({ ...build(orderId), reqId });
    expect(reply).toMatchObject({ type: 'error', reqId, code: 'VALIDATION' });
    expect(reply.message).toEqual(expect.stringMatching(field));

    await expectStillServing(driver);
    expect(await orderState(orderId)).toEqual(before);
    await sleep(200);
    expect(repliesTo(driver, reqId)).toHaveLength(1);
  });

  it('accepts the limits themselves: lat ±90, lng ±180, accuracyM 0, 128-character ids, 4000-character text', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const a = await driver.request(
      checkpoint(orderId, 'out_for_delivery', { eventId: `e${'x'.repeat(127)}`, location: { lat: 90, lng: -180, accuracyM: 0 } }),
    );
    expect(a).toMatchObject({ type: 'ack', seq: 5, duplicate: false });
    const b = await driver.request(checkpoint(orderId, 'out_for_delivery', { location: { lat: -90, lng: 180 } }));
    expect(b).toMatchObject({ type: 'ack', seq: 6 });
    const m = await driver.request({ action: 'message', messageId: `m${'y'.repeat(127)}`, orderId, text: 'z'.repeat(4000) });
    expect(m).toMatchObject({ type: 'ack', orderId, seq: 7, duplicate: false });
    expect(await orderState(orderId)).toMatchObject({ headSeq: 7, status: 'out_for_delivery' });
  });

  it('stores nothing for a refused frame: its eventId stays free for a valid checkpoint', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const eventId = uniqueId('ev');
    const bad = await driver.request(checkpoint(orderId, 'out_for_delivery', { eventId, location: { lat: 91, lng: 0 } }));
    expect(bad).toMatchObject({ type: 'error', code: 'VALIDATION' });
    const good = await driver.request(checkpoint(orderId, 'out_for_delivery', { eventId, location: { lat: 50, lng: 0 } }));
    expect(good).toMatchObject({ type: 'ack', seq: 5, duplicate: false });
  });
});

describe('illegal transitions', () => {
  it('refuses created → delivered (with proof) with ILLEGAL_TRANSITION and stores nothing', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const before = await orderState(orderId);
    expect(before).toMatchObject({ headSeq: 2, status: 'created' });

    const eventId = uniqueId('ev');
    const reqId = uniqueId('req');
    const reply = await driver.request({ ...checkpoint(orderId, 'delivered', { eventId, proof: { recipientType: 'self' } }), reqId });
    expect(reply).toMatchObject({ type: 'error', reqId, code: 'ILLEGAL_TRANSITION' });
    await expectStillServing(driver);
    expect(await orderState(orderId)).toEqual(before);

    // Nothing stored, not even the idempotency key: the id is still free.
    const legal = await driver.request(checkpoint(orderId, 'picked_up', { eventId }));
    expect(legal).toMatchObject({ type: 'ack', seq: 3, status: 'picked_up', duplicate: false });
    await sleep(200);
    expect(repliesTo(driver, reqId)).toHaveLength(1);
  });

  it('refuses moves out of a final status and backwards moves', async () => {
    const driver = await connect(cast.driver);
    const dispatcher = await connect(cast.dispatcher);
    const orderId = await orderOutForDelivery(driver);
    expect(await driver.request(checkpoint(orderId, 'picking'))).toMatchObject({ type: 'error', code: 'ILLEGAL_TRANSITION' });
    expect(await driver.request(checkpoint(orderId, 'created'))).toMatchObject({ type: 'error', code: 'ILLEGAL_TRANSITION' });

    const cancelled = await orderFor(url, cast);
    expect(await dispatcher.request(checkpoint(cancelled, 'cancelled'))).toMatchObject({ type: 'ack', seq: 3 });
    const before = await orderState(cancelled);
    for (const status of ['picked_up', 'created', 'followed_up']) {
      expect(await dispatcher.request(checkpoint(cancelled, status))).toMatchObject({ type: 'error', code: 'ILLEGAL_TRANSITION' });
    }
    expect(await orderState(cancelled)).toEqual(before);
    await expectStillServing(driver);
    await expectStillServing(dispatcher);
  });
});

describe('frame size limits', () => {
  it('answers a frame over 64 KiB (under 128 KiB) with PAYLOAD_TOO_LARGE, reqId echoed, and stores nothing', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const before = await orderState(orderId);
    const eventId = uniqueId('ev');
    const reqId = uniqueId('req');
    const text = frameOfSize({ ...checkpoint(orderId, 'out_for_delivery', { eventId }), reqId }, 100 * KiB);

    const reply = await sendTextFor(driver, text, reqId);
    expect(reply).toMatchObject({ type: 'error', reqId, code: 'PAYLOAD_TOO_LARGE' });
    await expectStillServing(driver);
    expect(await orderState(orderId)).toEqual(before);
    // The same checkpoint at a normal size is new, not a duplicate.
    expect(await driver.request(checkpoint(orderId, 'out_for_delivery', { eventId }))).toMatchObject({ type: 'ack', seq: 5, duplicate: false });
    await sleep(200);
    expect(repliesTo(driver, reqId)).toHaveLength(1);
  });

  it('draws the 64 KiB line exactly: 65536 bytes pass, 65537 bytes do not', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const atLimit = uniqueId('req');
    const ok = await sendTextFor(driver, frameOfSize({ ...checkpoint(orderId, 'out_for_delivery'), reqId: atLimit }, 64 * KiB), atLimit);
    expect(ok).toMatchObject({ type: 'ack', reqId: atLimit, seq: 5 });
    const over = uniqueId('req');
    const refused = await sendTextFor(driver, frameOfSize({ ...checkpoint(orderId, 'out_for_delivery'), reqId: over }, 64 * KiB + 1), over);
    expect(refused).toMatchObject({ type: 'error', reqId: over, code: 'PAYLOAD_TOO_LARGE' });
    expect(await orderState(orderId)).toMatchObject({ headSeq: 5 });
    await expectStillServing(driver);
  });

  it('counts bytes, not characters: 30,000 three-byte characters are over 64 KiB', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const reqId = uniqueId('req');
    const text = JSON.stringify({ ...checkpoint(orderId, 'out_for_delivery'), reqId, pad: '\u20ac'.repeat(30_000) });
    expect(text.length).toBeLessThan(64 * KiB);
    expect(Buffer.byteLength(text, 'utf8')).toBeGreaterThan(64 * KiB);
    expect(await sendTextFor(driver, text, reqId)).toMatchObject({ type: 'error', reqId, code: 'PAYLOAD_TOO_LARGE' });
    expect(await orderState(orderId)).toMatchObject({ headSeq: 4 });
    await expectStillServing(driver);
  });

  it('answers a non-JSON frame over 64 KiB with PAYLOAD_TOO_LARGE and no reqId', async () => {
    const driver = await connect(cast.driver);
    const reply = await driver.sendRaw('y'.repeat(70 * KiB));
    expect(reply).toMatchObject({ type: 'error', code: 'PAYLOAD_TOO_LARGE' });
    expect(reply).not.toHaveProperty('reqId');
    await expectStillServing(driver);
  });

  it('keeps the socket open for a frame of exactly 128 KiB (PAYLOAD_TOO_LARGE)', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const reqId = uniqueId('req');
    const reply = await sendTextFor(driver, frameOfSize({ ...checkpoint(orderId, 'out_for_delivery'), reqId }, 128 * KiB), reqId);
    expect(reply).toMatchObject({ type: 'error', reqId, code: 'PAYLOAD_TOO_LARGE' });
    await expectStillServing(driver);
  });

  it('closes the socket with 1009 for a frame over 128 KiB, stores nothing, and the next connection works', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderOutForDelivery(driver);
    const before = await orderState(orderId);
    const eventId = uniqueId('ev');
    driver.socket.send(frameOfSize({ ...checkpoint(orderId, 'out_for_delivery', { eventId }), reqId: uniqueId('req') }, 128 * KiB + 1));
    expect(await driver.closed).toBe(1009);
    expect(driver.isOpen).toBe(false);
    expect(driver.frames.filter((f) => f.type === 'ack' || f.type === 'error')).toHaveLength(2); // the setup's two acks only
    expect(await orderState(orderId)).toEqual(before);

    const again = await connect(cast.driver);
    await expectStillServing(again);
    expect(await again.request(checkpoint(orderId, 'out_for_delivery', { eventId }))).toMatchObject({ type: 'ack', seq: 5, duplicate: false });
  });
});

describe('replays', () => {
  it('acks a replayed eventId with the original seq and duplicate:true, even after the order moved on', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const frame = checkpoint(orderId, 'picked_up', { location: { lat: 51.5, lng: -0.1 } });
    const first = await driver.request(frame);
    expect(first).toMatchObject({ type: 'ack', orderId, seq: 3, status: 'picked_up', duplicate: false });

    const again = await driver.request(frame);
    expect(again).toMatchObject({ type: 'ack', orderId, seq: 3, status: 'picked_up', duplicate: true });
    expect(await orderState(orderId)).toMatchObject({ headSeq: 3, status: 'picked_up' });

    // The order moves on; the offline queue replays the old checkpoint: still a duplicate, not an illegal move.
    expect(await driver.request(checkpoint(orderId, 'at_hub'))).toMatchObject({ type: 'ack', seq: 4 });
    const late = await driver.request(frame);
    expect(late).toMatchObject({ type: 'ack', orderId, seq: 3, duplicate: true });
    const state = await orderState(orderId);
    expect(state).toMatchObject({ headSeq: 4, status: 'at_hub' });
    expect(state.timelineSeqs).toEqual([1, 2, 3, 4]);
  });

  it('answers a reused eventId carrying another status with CONFLICT, and stores nothing', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const frame = checkpoint(orderId, 'picked_up');
    expect(await driver.request(frame)).toMatchObject({ type: 'ack', seq: 3, status: 'picked_up', duplicate: false });
    const before = await orderState(orderId);
    const reqId = uniqueId('req');
    const replay = await driver.request({ ...frame, status: 'at_hub', occurredAt: new Date().toISOString(), reqId });
    expect(replay).toMatchObject({ type: 'error', reqId, code: 'CONFLICT' });
    expect(await orderState(orderId)).toEqual(before);
    expect(before).toMatchObject({ headSeq: 3, status: 'picked_up' });
  });

  it('acks a replay sent over a new connection the same way', async () => {
    const first = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const frame = checkpoint(orderId, 'picked_up');
    expect(await first.request(frame)).toMatchObject({ type: 'ack', seq: 3, duplicate: false });
    await first.close();
    const second = await connect(cast.driver);
    expect(await second.request(frame)).toMatchObject({ type: 'ack', seq: 3, duplicate: true });
    expect(await orderState(orderId)).toMatchObject({ headSeq: 3 });
  });

  it('acks a replayed messageId with the original seq and duplicate:true', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const frame = { action: 'message', messageId: uniqueId('msg'), orderId, text: 'At the door' };
    expect(await driver.request(frame)).toMatchObject({ type: 'ack', orderId, seq: 3, duplicate: false });
    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 4 });
    expect(await driver.request(frame)).toMatchObject({ type: 'ack', orderId, seq: 3, duplicate: true });
    expect(await driver.request(frame)).toMatchObject({ type: 'ack', orderId, seq: 3, duplicate: true });
    const state = await orderState(orderId);
    expect(state.headSeq).toBe(4);
    expect(state.timelineSeqs).toEqual([1, 2, 3, 4]);
  });

  it('stores a checkpoint sent on two sockets at once exactly once', async () => {
    const a = await connect(cast.driver);
    const b = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const frame = checkpoint(orderId, 'picked_up');
    const [x, y] = await Promise.all([a.request(frame), b.request(frame)]);
    expect(x).toMatchObject({ type: 'ack', seq: 3 });
    expect(y).toMatchObject({ type: 'ack', seq: 3 });
    expect([x.duplicate, y.duplicate].sort()).toEqual([false, true]);
    expect(await orderState(orderId)).toMatchObject({ headSeq: 3, timelineSeqs: [1, 2, 3] });
  });
});

describe('one id, one request (CONTRACT §5)', () => {
  /** The timeline as the dispatcher reads it over HTTP: every event, in seq order. */
  async function timelineOf(orderId: string): Promise<Frame[]> {
    const res = await http<{ items: Frame[] }>(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}/timeline`, { token: cast.dispatcher });
    expect(res.status).toBe(200);
    return res.body.items;
  }

  it("refuses a checkpoint reusing a message's id with CONFLICT; the timeline is unchanged (the issue's scenario)", async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const id = uniqueId('X');
    expect(await driver.request({ action: 'message', messageId: id, orderId, text: 'Running late, there by 6' })).toMatchObject({
      type: 'ack',
      seq: 3,
      duplicate: false,
    });
    const before = await timelineOf(orderId);

    const reqId = uniqueId('req');
    const reply = await driver.request({ ...checkpoint(orderId, 'picked_up', { eventId: id }), reqId });
    expect(reply).toMatchObject({ type: 'error', reqId, code: 'CONFLICT' });
    expect(reply.message).toContain(id);
    expect(await timelineOf(orderId)).toEqual(before);
    expect(await orderState(orderId)).toMatchObject({ headSeq: 3, status: 'created' });

    // The checkpoint was not lost silently: with its own id it is stored.
    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 4, status: 'picked_up', duplicate: false });
    await expectStillServing(driver);
  });

  it('acks a true replay with another reqId as duplicate:true with the original seq, storing nothing', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const frame = checkpoint(orderId, 'picked_up', { note: 'at the dock', location: { lat: 51.5, lng: -0.1, accuracyM: 8 } });
    const first = await driver.request({ ...frame, reqId: uniqueId('req') });
    expect(first).toMatchObject({ type: 'ack', seq: 3, status: 'picked_up', duplicate: false });
    const before = await timelineOf(orderId);

    // Same request, another reqId, another key order, over another connection.
    const again = await connect(cast.driver);
    const reqId = uniqueId('req');
    const reordered = Object.fromEntries(Object.entries({ ...frame, reqId }).reverse());
    expect(await again.request(reordered)).toMatchObject({ type: 'ack', reqId, orderId, seq: 3, status: 'picked_up', duplicate: true });
    expect(await timelineOf(orderId)).toEqual(before);
  });

  it('answers the same eventId with a different note with CONFLICT, and keeps the first', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const frame = checkpoint(orderId, 'picked_up', { note: 'left at the back door' });
    expect(await driver.request(frame)).toMatchObject({ type: 'ack', seq: 3, duplicate: false });
    const before = await timelineOf(orderId);

    const reqId = uniqueId('req');
    expect(await driver.request({ ...frame, note: 'handed to the neighbour', reqId })).toMatchObject({ type: 'error', reqId, code: 'CONFLICT' });
    // A field left out is a difference too.
    const { note: _note, ...withoutNote } = frame;
    expect(await driver.request(withoutNote)).toMatchObject({ type: 'error', code: 'CONFLICT' });
    const after = await timelineOf(orderId);
    expect(after).toEqual(before);
    expect(after[2]).toMatchObject({ seq: 3, eventId: frame.eventId, note: 'left at the back door' });
  });

  it('answers a reused messageId with other text with CONFLICT, and a message reusing a checkpoint id too', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const message = { action: 'message', messageId: uniqueId('msg'), orderId, text: 'At the door' };
    expect(await driver.request(message)).toMatchObject({ type: 'ack', seq: 3, duplicate: false });
    expect(await driver.request({ ...message, text: 'Gone again' })).toMatchObject({ type: 'error', code: 'CONFLICT' });
    const cp = checkpoint(orderId, 'picked_up');
    expect(await driver.request(cp)).toMatchObject({ type: 'ack', seq: 4 });
    expect(await driver.request({ action: 'message', messageId: cp.eventId, orderId, text: 'hi' })).toMatchObject({ type: 'error', code: 'CONFLICT' });
    expect((await timelineOf(orderId)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });
});

describe('ping and one reply per request', () => {
  it('acks ping with the server time', async () => {
    const driver = await connect(cast.driver);
    const reqId = uniqueId('req');
    const pong = await driver.request({ action: 'ping', reqId });
    expect(pong).toMatchObject({ type: 'ack', reqId });
    expect(typeof pong.now).toBe('string');
    const now = Date.parse(pong.now as string);
    expect(Number.isNaN(now)).toBe(false);
    expect(Math.abs(now - Date.now())).toBeLessThan(60_000);
  });

  it('gives every request with a reqId exactly one reply, good or bad, and nothing else', async () => {
    const driver = await connect(cast.driver);
    const orderId = await orderFor(url, cast);
    const dup = checkpoint(orderId, 'picked_up');
    const frames: Frame[] = [
      { action: 'ping' },
      dup,
      dup,
      checkpoint(orderId, 'teleported'),
      checkpoint(orderId, 'created'),
      checkpoint(orderId, 'delivered', { proof: { recipientType: 'self' } }),
      checkpoint(orderId, 'picked_up', { location: { lat: 91, lng: 0 } }),
      { action: 'teleport' },
      { orderId },
      { action: 'subscribe', room: 'dispatch' },
      { action: 'subscribe', room: `order:${orderId}`, sinceSeq: 0 },
      { action: 'subscribe', room: 'nonsense' },
      { action: 'message', messageId: uniqueId('msg'), orderId, text: 'hello' },
      { action: 'message', messageId: uniqueId('msg'), orderId },
      { action: 'read', orderId, seq: 1 },
      { action: 'unsubscribe', room: `order:${orderId}` },
      { action: 'ping' },
    ];
    const reqIds = frames.map(() => `r-${randomUUID()}`);
    const replies = await Promise.all(frames.map((f, i) => driver.request({ ...f, reqId: reqIds[i] })));
    expect(replies.map((r) => r.type)).toEqual([
      'ack',
      'ack',
      'ack',
      'error',
      'error',
      'error',
      'error',
      'error',
      'error',
      'error',
      'ack',
      'error',
      'ack',
      'error',
      'ack',
      'ack',
      'ack',
    ]);
    expect(replies.map((r) => r.code ?? null)).toEqual([
      null,
      null,
      null,
      'VALIDATION',
      'ILLEGAL_TRANSITION',
      'ILLEGAL_TRANSITION',
      'VALIDATION',
      'UNKNOWN_ACTION',
      'VALIDATION',
      'FORBIDDEN',
      null,
      'VALIDATION',
      null,
      'VALIDATION',
      null,
      null,
      null,
    ]);
    await sleep(700);
    for (const reqId of reqIds) expect(repliesTo(driver, reqId), reqId).toHaveLength(1);
    const strays = driver.frames.filter((f) => f.type !== 'event' && !reqIds.includes(f.reqId as string));
    expect(strays).toEqual([]);
    expect(driver.isOpen).toBe(true);
  });
});
