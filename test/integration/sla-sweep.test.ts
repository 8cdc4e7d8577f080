/**
 * The SLA sweep against DynamoDB Local, with an injected clock: alerts open
 * once per stalled stay, each level fires once even when sweeps race or one
 * dies halfway, an acknowledgement stops escalation, and moving on resolves.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { LOCAL_REGION } from '../../local/dynamodb';
import { describe, expect, inject, it } from 'vitest';
import type { Principal } from '../../shared/domain/model';
import type { SlaPolicy } from '../../shared/domain/sla';
import { createLogger } from '../../shared/runtime/log';
import { OrdersService } from '../../shared/services/orders-service';
import { SlaService } from '../../shared/services/sla-service';
import { DynamoAlertStore, type AlertStore } from '../../shared/store/alert-store';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import type { SmsSender } from '../../shared/store/sms-sender';
import { keys } from '../../shared/store/tables';
import { createTestTables, type TestTables } from '../support/tables';

const POLICY: SlaPolicy = {
  dwellSeconds: { created: 60, picked_up: 600 },
  escalation: [
    { afterSeconds: 0, notify: 'dispatch' },
    { afterSeconds: 300, notify: 'sms', to: ['+15550100001'] },
    { afterSeconds: 900, notify: 'sms', to: ['+15550100002', '+15550100003'] },
  ],
};
const T0 = Date.parse('2026-01-05T08:00:00.000Z');
const log = createLogger();

/** A clock the test moves by hand. */
class Clock {
  ms = T0;
  now = () => new Date(this.ms);
  set(seconds: number) {
    this.ms = T0 + seconds * 1000;
  }
}

/** Records what SNS would have been asked to send (SNS itself cannot run here; e2e uses the stand-in). */
class RecordingSms implements SmsSender {
  sent: { to: string; text: string }[] = [];
  async send(to: string, text: string) {
    this.sent.push({ to, text });
    return `msg-${this.sent.length}`;
  }
}

let n = 0;

/**
 * A fresh world: its own tables (the due index spans every tenant, so sweeps
 * of one test must not see another's orders), clock and SMS recorder.
 */
async function world(alerts?: (store: DynamoAlertStore) => AlertStore) {
  const tables: TestTables = await createTestTables(inject('dynamodbEndpoint'));
  const clock = new Clock();
  const tenant = `sla-${++n}`;
  const orders = new DynamoOrderStore(tables.doc, tables.orders);
  const policies = new DynamoPolicyStore(tables.doc, tables.orders, POLICY, () => clock.ms);
  const alertStore = new DynamoAlertStore(tables.doc, tables.orders);
  const sms = new RecordingSms();
  const service = new OrdersService({ orders, policies, now: clock.now });
  const sla = () =>
    new SlaService({ orders, alerts: alerts ? alerts(alertStore) : alertStore, policies, sms, log, now: clock.now });
  const dispatcher: Principal = { tenant, role: 'dispatcher', sub: 'dana' };
  const retailer: Principal = { tenant, role: 'retailer', sub: 'rita', retailerId: 'r1' };
  const create = (orderId: string) =>
    service.create(retailer, { orderId, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
  const alertEvents = async (orderId: string) => {
    const res = await tables.doc.send(
      new QueryCommand({
        TableName: tables.orders,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :e)',
        ExpressionAttributeValues: { ':pk': keys.order(tenant, orderId), ':e': 'E#' },
        ConsistentRead: true,
      }),
    );
    return (res.Items ?? []).map((i) => i.event).filter((e) => e.kind === 'alert') as { level: number; state: string; alertId: string }[];
  };
  return { clock, tenant, sms, service, sla, dispatcher, retailer, create, alertEvents, alertStore };
}

describe('SLA sweep', () => {
  it('opens one alert when the stay passes its limit, firing the dispatch level at once', async () => {
    const w = await world();
    await w.create('o1');
    w.clock.set(59);
    expect((await w.sla().sweep()).opened).toBe(0);
    w.clock.set(60);
    const report = await w.sla().sweep();
    expect(report).toMatchObject({ opened: 1, fired: 1, smsSent: 0 });
    expect(await w.alertEvents('o1')).toEqual([expect.objectContaining({ level: 1, state: 'open' })]);
    w.clock.set(61);
    expect((await w.sla().sweep()).opened).toBe(0);
  });

  it('fires each later level once, in order, even when a late sweep finds several due', async () => {
    const w = await world();
    await w.create('o2');
    w.clock.set(60);
    await w.sla().sweep();
    w.clock.set(60 + 1000); // levels 2 and 3 are both due now
    const report = await w.sla().sweep();
    expect(report.fired).toBe(2);
    expect((await w.alertEvents('o2')).map((e) => e.level)).toEqual([1, 2, 3]);
    expect(w.sms.sent.map((s) => s.to)).toEqual(['+15550100001', '+15550100002', '+15550100003']);
    expect(w.sms.sent[0]?.text).toMatch(/level 2: order o2 stuck in created for 17m/);
    w.clock.set(60 + 5000);
    await w.sla().sweep();
    expect(w.sms.sent).toHaveLength(3);
  });

  it('fires every level exactly once when two sweeps race over the same due orders', async () => {
    const w = await world();
    const ids = Array.from({ length: 6 }, (_, i) => `race-${i}`);
    for (const id of ids) await w.create(id);
    for (const t of [60, 400, 1000]) {
      w.clock.set(t);
      await Promise.all([w.sla().sweep(), w.sla().sweep(), w.sla().sweep()]);
    }
    for (const id of ids) {
      const events = await w.alertEvents(id);
      expect(events.map((e) => e.level)).toEqual([1, 2, 3]);
      expect(new Set(events.map((e) => e.alertId)).size).toBe(1);
    }
    // one SMS per level per number per order: (1 + 2) x 6
    expect(w.sms.sent).toHaveLength(18);
    const perOrder = new Map<string, number>();
    for (const s of w.sms.sent) {
      const key = `${/order (\S+)/.exec(s.text)?.[1]} ${s.to}`;
      perOrder.set(key, (perOrder.get(key) ?? 0) + 1);
    }
    expect([...perOrder.values()].every((count) => count === 1)).toBe(true);
  });

  it('does not duplicate an alert or an SMS when a sweep dies after opening and is run again', async () => {
    let crash = true;
    const w = await world((store) => ({
      get: (t, id) => store.get(t, id),
      list: (t, s, l) => store.list(t, s, l),
      due: (s, now, l) => store.due(s, now, l),
      claim: (t, i, now, until) => store.claim(t, i, now, until),
      markSent: (t, i, id, at) => store.markSent(t, i, id, at),
      release: (t, i) => store.release(t, i),
      setDue: (t, o, d, s, g) => store.setDue(t, o, d, s, g),
      // The process dies right after the level's transaction, before sending its SMS.
      unsent: async (t, id) => {
        if (crash) {
          crash = false;
          throw new Error('simulated crash');
        }
        return store.unsent(t, id);
      },
    }));
    await w.create('crash-1');
    w.clock.set(60);
    await w.sla().sweep(); // opens, level 1 (dispatch)
    w.clock.set(300 + 60);
    const first = await w.sla().sweep(); // fires level 2 ... then "crashes" before the SMS
    expect(first.failed + first.fired).toBeGreaterThan(0);
    w.clock.set(300 + 61);
    await w.sla().sweep(); // catches up the owed SMS
    await w.sla().sweep();
    expect((await w.alertEvents('crash-1')).map((e) => e.level)).toEqual([1, 2]);
    expect(w.sms.sent.map((s) => s.to)).toEqual(['+15550100001']);
  });

  it('stops escalating once acknowledged, and acking twice changes nothing', async () => {
    const w = await world();
    await w.create('ack-1');
    w.clock.set(60);
    await w.sla().sweep();
    const [opened] = await w.alertEvents('ack-1');
    w.clock.set(100);
    const acked = await w.sla().acknowledge(w.dispatcher, opened!.alertId);
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'dana', level: 1 });
    const again = await w.sla().acknowledge(w.dispatcher, opened!.alertId);
    expect(again).toEqual({ ...acked, stuckSeconds: again.stuckSeconds });
    w.clock.set(5000);
    await w.sla().sweep();
    expect((await w.alertEvents('ack-1')).map((e) => `${e.state}:${e.level}`)).toEqual(['open:1', 'acknowledged:1']);
    expect(w.sms.sent).toEqual([]);
    await expect(w.sla().acknowledge(w.retailer, opened!.alertId)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const stranger: Principal = { tenant: 'elsewhere', role: 'dispatcher', sub: 'x' };
    await expect(w.sla().acknowledge(stranger, opened!.alertId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('resolves the alert in the same write when the order moves on, and starts the new clock', async () => {
    const w = await world();
    await w.create('move-1');
    w.clock.set(60);
    await w.sla().sweep();
    w.clock.set(120);
    const ack = await w.service.checkpoint(w.dispatcher, {
      action: 'checkpoint',
      eventId: 'e1',
      orderId: 'move-1',
      status: 'picked_up',
      occurredAt: new Date(w.clock.ms).toISOString(),
    });
    expect(ack.seq).toBe(3);
    const events = await w.alertEvents('move-1');
    expect(events.map((e) => e.state)).toEqual(['open', 'resolved']);
    const head = await w.service.get(w.dispatcher, 'move-1');
    expect(head.openAlertId).toBeUndefined();
    expect(head.headSeq).toBe(4);
    expect(head.dueAt).toBe(new Date(T0 + (120 + 600) * 1000).toISOString());
    expect((await w.sla().list(w.dispatcher, 'resolved')).map((a) => a.orderId)).toContain('move-1');
    expect((await w.sla().list(w.dispatcher, 'open')).map((a) => a.orderId)).not.toContain('move-1');
  });

  it('lists open alerts per tenant, and stalled orders', async () => {
    const w = await world();
    await w.create('l-1');
    await w.create('l-2');
    w.clock.set(60);
    await w.sla().sweep();
    const open = await w.sla().list(w.dispatcher, 'open');
    expect(open.map((a) => a.orderId).sort()).toEqual(['l-1', 'l-2']);
    expect(JSON.stringify(open)).not.toContain('+1555');
    const stalled = await w.service.list(w.dispatcher, { stalled: true });
    expect(stalled.orders.map((o) => o.orderId).sort()).toEqual(['l-1', 'l-2']);
    const otherTenant: Principal = { tenant: 'elsewhere', role: 'dispatcher', sub: 'x' };
    expect(await w.sla().list(otherTenant, 'open')).toEqual([]);
    expect(await w.sla().list(otherTenant, undefined)).toEqual([]);
  });

  it('uses a tenant policy once set, and re-times a clock that an older policy set', async () => {
    const w = await world();
    await w.sla().putPolicy(w.dispatcher, { dwellSeconds: { created: 3600 }, escalation: [{ afterSeconds: 0, notify: 'dispatch' }] });
    expect(await w.sla().getPolicy(w.dispatcher)).toMatchObject({ dwellSeconds: { created: 3600 } });
    await w.create('p-1');
    w.clock.set(120);
    await w.sla().sweep();
    expect(await w.alertEvents('p-1')).toEqual([]);
    await expect(w.sla().putPolicy(w.dispatcher, { dwellSeconds: { created: 0 }, escalation: [] })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('dwellSeconds.created'),
    });
    await expect(w.sla().putPolicy(w.retailer, POLICY)).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it("does not let one tenant's backlog delay another's alert: it opens in the first sweep, before any SMS is sent", async () => {
    const tables: TestTables = await createTestTables(inject('dynamodbEndpoint'));
    const clock = new Clock();
    const orders = new DynamoOrderStore(tables.doc, tables.orders);
    const policies = new DynamoPolicyStore(tables.doc, tables.orders, POLICY, () => clock.ms);
    const alerts = new DynamoAlertStore(tables.doc, tables.orders);
    const service = new OrdersService({ orders, policies, now: clock.now });
    /** What happened, in order: alerts opened (per tenant) and SMS sent. */
    const log: string[] = [];
    const sms: SmsSender & { sent: { to: string; text: string }[] } = {
      sent: [],
      async send(to, text) {
        // A slow provider: 20 ms a message.
        await new Promise((r) => setTimeout(r, 20));
        this.sent.push({ to, text });
        log.push(`sms ${to}`);
        return `msg-${this.sent.length}`;
      },
    };
    const watched: typeof orders = Object.create(orders) as typeof orders;
    watched.append = async (tenant, orderId, decide, ...rest) => {
      const result = await orders.append(tenant, orderId, decide, ...rest);
      if (result.outcome === 'stored' && result.head.openAlertId !== undefined && result.event?.kind === 'alert' && result.event.state === 'open') {
        log.push(`open ${tenant}`);
      }
      return result;
    };
    const noisy = `noisy-${++n}`;
    const quiet = `quiet-${n}`;
    // The noisy tenant: 10 SMS levels of 10 numbers, all due at once; 20 stalled orders.
    const tenNumbers = (level: number) => Array.from({ length: 10 }, (_, i) => `+1555020${String(level).padStart(2, '0')}${String(i).padStart(2, '0')}`);
    await policies.put(
      noisy,
      { dwellSeconds: { created: 60 }, escalation: Array.from({ length: 10 }, (_, i) => ({ afterSeconds: 0, notify: 'sms' as const, to: tenNumbers(i) })) },
      'dana',
    );
    const create = (tenant: string, orderId: string) =>
      service.create({ tenant, role: 'retailer', sub: 'rita', retailerId: 'r1' }, { orderId, retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
    for (let i = 0; i < 20; i++) await create(noisy, `n-${i}`);
    await create(quiet, 'q-1');

    clock.set(60);
    const sla = new SlaService({ orders: watched, alerts, policies, sms, log: createLogger(), now: clock.now, smsDrainMs: 200 });
    const first = await sla.sweep();
    // Every due order was worked on in this sweep (20 is within the per-tenant budget), the quiet one included,
    // and every alert opened before the first SMS went out: no alert waits on SMS.
    expect(first.opened).toBe(21);
    const firstSms = log.findIndex((l) => l.startsWith('sms'));
    const quietOpened = log.indexOf(`open ${quiet}`);
    expect(quietOpened).toBeGreaterThanOrEqual(0);
    expect(firstSms === -1 || quietOpened < firstSms).toBe(true);
    // The drain stopped at its time: 2,000 SMS are owed, not all sent in this sweep.
    expect(first.smsSent).toBeLessThan(2000);
    // Later sweeps send the rest; none twice.
    for (let i = 0; i < 3; i++) {
      clock.ms += 1000;
      await sla.sweep();
    }
    const sent = sms.sent.map((m) => `${m.to} ${m.text}`);
    expect(new Set(sent).size).toBe(sent.length);
    expect(sms.sent.length).toBeGreaterThan(first.smsSent);
  }, 120_000);

  it('fires an SMS level and sends its SMS in one sweep in at most 9 DynamoDB calls besides the due index, and settles the clock in the next in 5', async () => {
    const tables: TestTables = await createTestTables(inject('dynamodbEndpoint'));
    const clock = new Clock();
    // Every call the sweep's stores make, by command, on a client of their own.
    const calls: string[] = [];
    const client = new DynamoDBClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: inject('dynamodbCredentials') });
    client.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    const policies = new DynamoPolicyStore(tables.doc, tables.orders, POLICY, () => clock.ms);
    const service = new OrdersService({ orders: new DynamoOrderStore(tables.doc, tables.orders), policies, now: clock.now });
    const sms = new RecordingSms();
    const sla = new SlaService({
      orders: new DynamoOrderStore(doc, tables.orders),
      alerts: new DynamoAlertStore(doc, tables.orders),
      policies,
      sms,
      log,
      now: clock.now,
    });
    const tenant = `calls-${++n}`;
    await service.create({ tenant, role: 'retailer', sub: 'rita', retailerId: 'r1' }, { orderId: 'c-1', retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
    clock.set(60);
    await sla.sweep(); // opens, level 1 (dispatch)
    const dueQueries = (list: string[]) => list.filter((c) => c === 'QueryCommand').length;

    clock.set(360); // level 2 (one SMS) is due
    calls.length = 0;
    const firing = await sla.sweep();
    expect(firing).toMatchObject({ fired: 1, smsSent: 1, failed: 0 });
    expect(sms.sent.map((s) => s.to)).toEqual(['+15550100001']);
    // The due index is read once per shard; everything else is the order's own work and its one SMS.
    const firingCalls = calls.length - 8;
    expect(dueQueries(calls)).toBeGreaterThanOrEqual(8);
    expect(firingCalls).toBeLessThanOrEqual(9);

    clock.set(361); // nothing fires, nothing is owed: the clock moves to level 3's time
    calls.length = 0;
    const settling = await sla.sweep();
    expect(settling).toMatchObject({ fired: 0, smsSent: 0, failed: 0 });
    expect(calls.length - 8).toBeLessThanOrEqual(5);
    expect((await service.get({ tenant, role: 'dispatcher', sub: 'd' }, 'c-1')).dueAt).toBe(new Date(T0 + 960 * 1000).toISOString());
  });
});
