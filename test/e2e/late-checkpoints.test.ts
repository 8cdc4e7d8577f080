/**
 * CONTRACT §3 over real sockets: a checkpoint that happened before the one
 * that set the order's status is recorded with `late: true` and never moves
 * the order backwards; its ack says `applied: false` and the current status,
 * and its replay acks the same. `occurredAt` out of bounds is VALIDATION.
 */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, socketPool, uniqueTenant, type Cast, type Frame, type WsClient } from '../support/client';
import { parseCsv } from '../support/csv';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('late'));
});

/** `minutes` before now, as an ISO time in UTC. */
function minutesAgo(minutes: number): string {
  return new Date(Date.now() - minutes * 60_000).toISOString();
}

/** The same instant written with a +05:00 offset: as a string it sorts after the UTC form. */
function atPlusFive(iso: string): string {
  return new Date(Date.parse(iso) + 5 * 3600_000).toISOString().replace('Z', '+05:00');
}

interface OrderBody {
  status: string;
  statusSince: string;
  headSeq: number;
  dueAt?: string;
  lastLocation?: { lat: number; lng: number };
  openAlertId?: string;
}

async function order(orderId: string): Promise<OrderBody> {
  const res = await http<{ order: OrderBody }>(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}`, { token: cast.dispatcher });
  expect(res.status).toBe(200);
  return res.body.order;
}

async function timeline(orderId: string): Promise<Frame[]> {
  const res = await http<{ items: Frame[] }>(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}/timeline`, { token: cast.dispatcher });
  expect(res.status).toBe(200);
  return res.body.items;
}

async function post(driver: WsClient, frame: Frame): Promise<Frame> {
  const ack = await driver.request(frame);
  expect(ack, JSON.stringify(ack)).toMatchObject({ type: 'ack' });
  return ack;
}

describe('late checkpoints (CONTRACT §3)', () => {
  it('a queued in_transit stamped 09:50 arriving after at_hub stamped 10:05 is recorded late; the order stays at_hub', async () => {
    const orderId = await orderFor(url, cast);
    const driver = await connect(cast.driver);
    const retailer = await connect(cast.retailer);
    const dispatch = await connect(cast.dispatcher);
    expect(await retailer.request({ action: 'subscribe', room: `order:${orderId}` })).toMatchObject({ type: 'ack' });
    expect(await dispatch.request({ action: 'subscribe', room: 'dispatch' })).toMatchObject({ type: 'ack' });

    expect(await post(driver, checkpoint(orderId, 'picked_up', { occurredAt: minutesAgo(30) }))).toMatchObject({ seq: 3, applied: true });
    expect(await post(driver, checkpoint(orderId, 'at_hub', { occurredAt: minutesAgo(5), location: { lat: 52.2, lng: 0.12 } }))).toEqual(
      expect.objectContaining({ seq: 4, status: 'at_hub', duplicate: false, applied: true }),
    );
    const before = await order(orderId);
    expect(before).toMatchObject({ status: 'at_hub', headSeq: 4 });

    // 09:50 on the device, written with a +05:00 offset: later than at_hub's time as a string, earlier as an instant.
    const lateFrame = checkpoint(orderId, 'in_transit', { occurredAt: atPlusFive(minutesAgo(20)), location: { lat: 51.0, lng: -1.0 }, note: 'queued offline' });
    const ack = await post(driver, lateFrame);
    expect(ack).toEqual({ type: 'ack', reqId: ack.reqId, orderId, seq: 5, status: 'at_hub', duplicate: false, applied: false });

    const after = await order(orderId);
    expect(after).toMatchObject({ status: 'at_hub', headSeq: 5, statusSince: before.statusSince, lastLocation: { lat: 52.2, lng: 0.12 } });
    expect(after.dueAt).toBe(before.dueAt);
    const late = (await timeline(orderId)).find((e) => e.seq === 5);
    expect(late).toMatchObject({
      kind: 'checkpoint',
      status: 'in_transit',
      previousStatus: 'at_hub',
      statusChanged: false,
      late: true,
      occurredAt: lateFrame.occurredAt,
      note: 'queued offline',
    });
    // The order room hears it as late.
    expect(await retailer.waitForEvent(`order:${orderId}`, (e) => e.seq === 5)).toMatchObject({ late: true, status: 'in_transit' });

    // The replay of the same request acks exactly as the original did.
    const replay = await post(driver, lateFrame);
    expect(replay).toEqual({ ...ack, reqId: replay.reqId, duplicate: true });
    expect(await order(orderId)).toMatchObject({ status: 'at_hub', headSeq: 5 });

    // The order moves on normally; the feeds heard the status changes, never the late checkpoint.
    expect(await post(driver, checkpoint(orderId, 'out_for_delivery'))).toMatchObject({ seq: 6, status: 'out_for_delivery', applied: true });
    await dispatch.waitForEvent('dispatch', (e) => e.orderId === orderId && e.seq === 6);
    expect(dispatch.events('dispatch').filter((e) => e.orderId === orderId).map((e) => e.seq)).toEqual([3, 4, 6]);

    // The CSV says which row was late.
    const csv = await http(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}/timeline.csv`, { token: cast.retailer });
    const rows = parseCsv(csv.text);
    const col = rows[0]!.indexOf('late');
    const seqCol = rows[0]!.indexOf('seq');
    expect(col).toBe(rows[0]!.length - 1);
    expect(rows.slice(1).map((r) => [r[seqCol], r[col]])).toEqual([
      ['1', ''],
      ['2', ''],
      ['3', 'false'],
      ['4', 'false'],
      ['5', 'true'],
      ['6', 'false'],
    ]);
  });

  it('a queued out_for_delivery arriving after attempt_failed is recorded late; the order stays attempt_failed', async () => {
    const orderId = await orderFor(url, cast);
    const driver = await connect(cast.driver);
    await post(driver, checkpoint(orderId, 'picked_up', { occurredAt: minutesAgo(60) }));
    await post(driver, checkpoint(orderId, 'out_for_delivery', { occurredAt: minutesAgo(40) }));
    expect(await post(driver, checkpoint(orderId, 'attempt_failed', { occurredAt: minutesAgo(10), reason: 'nobody home' }))).toMatchObject({
      seq: 5,
      status: 'attempt_failed',
      applied: true,
    });
    const before = await order(orderId);

    const lateFrame = checkpoint(orderId, 'out_for_delivery', { occurredAt: minutesAgo(20) });
    const ack = await post(driver, lateFrame);
    expect(ack).toMatchObject({ orderId, seq: 6, status: 'attempt_failed', duplicate: false, applied: false });

    const after = await order(orderId);
    expect(after).toMatchObject({ status: 'attempt_failed', statusSince: before.statusSince, headSeq: 6 });
    expect(after.dueAt).toBe(before.dueAt);
    expect((await timeline(orderId)).at(-1)).toMatchObject({ seq: 6, status: 'out_for_delivery', previousStatus: 'attempt_failed', late: true });

    expect(await post(driver, lateFrame)).toMatchObject({ orderId, seq: 6, status: 'attempt_failed', duplicate: true, applied: false });
    // Posted now, after the failed attempt: not late, the legal move applies.
    expect(await post(driver, checkpoint(orderId, 'out_for_delivery'))).toMatchObject({ seq: 7, status: 'out_for_delivery', applied: true });
    expect(await order(orderId)).toMatchObject({ status: 'out_for_delivery', headSeq: 7 });
  });

  it('refuses an occurredAt more than 5 minutes ahead or 7 days behind with VALIDATION naming occurredAt, storing nothing', async () => {
    const orderId = await orderFor(url, cast);
    const driver = await connect(cast.driver);
    const ahead = new Date(Date.now() + 6 * 60_000).toISOString();
    const behind = new Date(Date.now() - 7 * 86_400_000 - 60_000).toISOString();
    for (const occurredAt of [ahead, behind]) {
      const reply = await driver.request(checkpoint(orderId, 'picked_up', { occurredAt }));
      expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION', details: { issues: [{ field: 'occurredAt' }] } });
      expect(reply.message).toMatch(/\boccurredAt\b/);
    }
    expect(await order(orderId)).toMatchObject({ status: 'created', headSeq: 2 });
    expect((await timeline(orderId)).map((e) => e.seq)).toEqual([1, 2]);
  });
});
