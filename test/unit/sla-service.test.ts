/**
 * SlaService's sweep on the in-memory fakes (no DynamoDB), with a clock the
 * test moves: a stalled stay opens one alert, each level fires once (also
 * when sweeps race), the SMS a level owes leave in the same sweep, an
 * acknowledgement stops escalation, and an SMS that failed is sent by the
 * next sweep, once.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
import type { SlaPolicy } from '../../shared/domain/sla';
import { OrdersService } from '../../shared/services/orders-service';
import { SlaService } from '../../shared/services/sla-service';
import { InMemoryAlertStore, InMemoryOrderStore, InMemoryPolicyStore, RecordingLogger, RecordingSmsSender } from '../support/fakes';

const POLICY: SlaPolicy = {
  dwellSeconds: { created: 60 },
  escalation: [
    { afterSeconds: 0, notify: 'dispatch' },
    { afterSeconds: 300, notify: 'sms', to: ['+15550100001'] },
    { afterSeconds: 900, notify: 'sms', to: ['+15550100002', '+15550100003'] },
  ],
};
const T0 = Date.parse('2026-01-05T08:00:00.000Z');
const tenant = 'sla-unit';
const retailer: Principal = { tenant, role: 'retailer', sub: 'rita', retailerId: 'r1' };
const dispatcher: Principal = { tenant, role: 'dispatcher', sub: 'dana' };

let clockMs: number;
const now = () => new Date(clockMs);
/** Move the clock to `seconds` after T0. */
const at = (seconds: number) => {
  clockMs = T0 + seconds * 1000;
};

let orderStore: InMemoryOrderStore;
let alerts: InMemoryAlertStore;
let sms: RecordingSmsSender;
let log: RecordingLogger;
let orders: OrdersService;
/** A sweeper (each call another process's service over the same stores). */
let sla: () => SlaService;

beforeEach(() => {
  clockMs = T0;
  orderStore = new InMemoryOrderStore();
  alerts = new InMemoryAlertStore(orderStore.table);
  sms = new RecordingSmsSender();
  log = new RecordingLogger();
  const policies = new InMemoryPolicyStore(POLICY);
  orders = new OrdersService({ orders: orderStore, policies, now });
  sla = () => new SlaService({ orders: orderStore, alerts, policies, sms, log, now });
});

const create = (orderId: string) => orders.create(retailer, { orderId, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });

/** The alert events on an order's timeline, as `state:level`. */
async function alertTrail(orderId: string): Promise<string[]> {
  const events = await orderStore.timeline(tenant, orderId, 0, 100);
  return events.flatMap((e) => (e.kind === 'alert' ? [`${e.state}:${e.level}`] : []));
}

describe('SlaService.sweep', () => {
  it('opens one alert when the stay passes its limit, firing the dispatch level at once, and not again', async () => {
    await create('o1');
    at(59);
    const early = await sla().sweep();
    at(60);
    const opening = await sla().sweep();
    at(61);
    const after = await sla().sweep();

    expect(early).toMatchObject({ due: 0, opened: 0 });
    expect(opening).toMatchObject({ due: 1, opened: 1, fired: 1, smsSent: 0, failed: 0 });
    expect(after).toMatchObject({ opened: 0, fired: 0 });
    expect(await alertTrail('o1')).toEqual(['open:1']);
    expect((await sla().list(dispatcher, 'open')).map((a) => [a.orderId, a.level])).toEqual([['o1', 1]]);
  });

  it('fires each later level once, in order, and sends the SMS it owes in the same sweep', async () => {
    await create('o2');
    at(60);
    await sla().sweep();
    at(360);
    const level2 = await sla().sweep();
    const smsAfterLevel2 = sms.sent.map((s) => s.to);
    at(60 + 1000);
    const level3 = await sla().sweep();
    at(60 + 5000);
    const later = await sla().sweep();

    expect(level2).toMatchObject({ fired: 1, smsSent: 1 });
    expect(smsAfterLevel2).toEqual(['+15550100001']);
    expect(level3).toMatchObject({ fired: 1, smsSent: 2 });
    expect(later).toMatchObject({ fired: 0, smsSent: 0 });
    expect(await alertTrail('o2')).toEqual(['open:1', 'open:2', 'open:3']);
    expect(sms.sent.map((s) => s.to)).toEqual(['+15550100001', '+15550100002', '+15550100003']);
    expect(sms.sent[0]?.text).toMatch(/level 2: order o2 stuck in created/);
  });

  it('fires every level exactly once when sweeps race over the same due orders', async () => {
    const ids = ['race-0', 'race-1', 'race-2', 'race-3'];
    for (const id of ids) await create(id);
    for (const t of [60, 400, 1000]) {
      at(t);
      await Promise.all([sla().sweep(), sla().sweep(), sla().sweep()]);
    }

    for (const id of ids) expect(await alertTrail(id)).toEqual(['open:1', 'open:2', 'open:3']);
    // One SMS per level per number per order: (1 + 2) x 4, none twice.
    expect(sms.sent).toHaveLength(12);
    expect(new Set(sms.sent.map((s) => `${s.to} ${s.text}`)).size).toBe(12);
  });

  it('stops escalating once acknowledged', async () => {
    await create('ack-1');
    at(60);
    await sla().sweep();
    const alertId = (await orderStore.getOrder(tenant, 'ack-1'))!.openAlertId!;
    at(100);
    const acked = await sla().acknowledge(dispatcher, alertId);
    at(5000);
    const later = await sla().sweep();

    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'dana', level: 1 });
    expect(later).toMatchObject({ fired: 0, smsSent: 0 });
    expect(await alertTrail('ack-1')).toEqual(['open:1', 'acknowledged:1']);
    expect(sms.sent).toEqual([]);
    await expect(sla().acknowledge(retailer, alertId)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('sends an SMS that failed in the next sweep, once, and logs no phone number', async () => {
    await create('fail-1');
    at(60);
    await sla().sweep();
    at(360);
    sms.failNext(1);
    const failing = await sla().sweep();
    const retrying = await sla().sweep();
    const settled = await sla().sweep();

    expect(failing).toMatchObject({ fired: 1, smsSent: 0 });
    expect(sms.failed).toBe(1);
    expect(retrying).toMatchObject({ fired: 0, smsSent: 1 });
    expect(settled).toMatchObject({ fired: 0, smsSent: 0 });
    expect(sms.sent.map((s) => s.to)).toEqual(['+15550100001']);
    expect(log.lines.some((l) => l.level === 'error' && l.msg === 'sla sms failed; will retry')).toBe(true);
    expect(JSON.stringify(log.lines)).not.toContain('+1555');
    // The clock then moves on to level 3.
    expect((await orderStore.getOrder(tenant, 'fail-1'))?.dueAt).toBe(new Date(T0 + 960 * 1000).toISOString());
  });
});
