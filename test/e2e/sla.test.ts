/**
 * SLA escalation over real sockets, on a runtime started with a policy of a
 * few seconds (WAYPOST_SLA_POLICY) and a fast sweep: dispatch hears the
 * alert, the SNS stand-in gets exactly one SMS per level of an ignored alert
 * and none after an acknowledgement, and moving the order on resolves it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { smsId } from '../../shared/domain/sla';
import { castOf, checkpoint, http, orderFor, uniqueTenant, WsClient, type Cast, type Frame } from '../support/client';
import { expectTableAck } from '../support/protocol';
import { spawnRuntime, type SpawnedRuntime } from '../support/spawn-runtime';

const secret = 'sla-e2e-secret';
const dir = mkdtempSync(join(tmpdir(), 'waypost-sla-'));
const policy = {
  dwellSeconds: { created: 1, picked_up: 1 },
  escalation: [
    { afterSeconds: 0, notify: 'dispatch' },
    { afterSeconds: 2, notify: 'sms', to: ['+15550100001'] },
    { afterSeconds: 3, notify: 'sms', to: ['+15550100002', '+15550100003'] },
  ],
};
let runtime: SpawnedRuntime;
let cast: Cast;
const sockets: WsClient[] = [];

interface Sms {
  to: string;
  message: string;
  messageId: string;
  at: string;
}

beforeAll(async () => {
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policy));
  runtime = await spawnRuntime({
    WAYPOST_IN_MEMORY: '1',
    WAYPOST_JWT_SECRET: secret,
    WAYPOST_SLA_POLICY: join(dir, 'policy.json'),
    WAYPOST_SWEEP_MS: '200',
    WAYPOST_LOG_LEVEL: 'debug',
  });
  cast = await castOf(secret, uniqueTenant('sla'));
});

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function connect(token: string) {
  const c = await WsClient.connect(runtime.url, token);
  sockets.push(c);
  return c;
}

/** `text` matched literally in a RegExp. */
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function smsFor(orderId: string): Promise<Sms[]> {
  const res = await http<Sms[]>(runtime.url, 'GET', '/_local/sms');
  return res.body.filter((s) => s.message.includes(`order ${smsId(orderId)} `));
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('SLA escalation', () => {
  it('opens an alert for dispatch, the order and the retailer, and sends one SMS per level when ignored', async () => {
    const dispatcher = await connect(cast.dispatcher);
    await dispatcher.request({ action: 'subscribe', room: 'dispatch' });
    const retailer = await connect(cast.retailer);
    await retailer.request({ action: 'subscribe', room: 'retailer:retailer-a' });
    const orderId = await orderFor(runtime.url, cast);
    await retailer.request({ action: 'subscribe', room: `order:${orderId}` });

    const opened = await dispatcher.waitForEvent('dispatch', (e) => e.orderId === orderId && e.kind === 'alert', 10_000);
    expect(opened).toMatchObject({ kind: 'alert', state: 'open', level: 1, status: 'created' });
    expect(typeof opened.alertId).toBe('string');
    expect(opened.stuckSeconds as number).toBeGreaterThanOrEqual(1);
    await retailer.waitForEvent(`order:${orderId}`, (e) => e.kind === 'alert' && e.alertId === opened.alertId);
    await retailer.waitForEvent('retailer:retailer-a', (e) => e.kind === 'alert' && e.alertId === opened.alertId);

    const sms = await until(() => smsFor(orderId), (list) => list.length >= 3);
    await new Promise((r) => setTimeout(r, 1500)); // a few more sweeps: nothing fires twice
    const settled = await smsFor(orderId);
    expect(settled.map((s) => s.to).sort()).toEqual(['+15550100001', '+15550100002', '+15550100003']);
    expect(settled).toEqual(sms);
    expect(settled.find((s) => s.to === '+15550100001')?.message).toMatch(
      new RegExp(`level 2: order ${escapeRegExp(smsId(orderId))} stuck in created for \\d+s`),
    );
    const levels = dispatcher.events('dispatch').filter((e) => e.orderId === orderId && e.kind === 'alert').map((e) => e.level);
    expect(levels).toEqual([1, 2, 3]);

    const listed = await http<{ alerts: Frame[] }>(runtime.url, 'GET', '/api/alerts?state=open', { token: cast.dispatcher });
    expect(listed.body.alerts.find((a) => a.alertId === opened.alertId)).toMatchObject({ orderId, state: 'open', level: 3 });
    const stalled = await http<{ orders: Frame[] }>(runtime.url, 'GET', '/api/orders?stalled=true', { token: cast.dispatcher });
    expect(stalled.body.orders.map((o) => o.orderId)).toContain(orderId);

    // Every SMS was logged (at debug level and up), and no phone number with it.
    expect(runtime.output()).toContain('sla sms sent');
    for (const n of ['+15550100001', '+15550100002', '+15550100003', '5550100001']) expect(runtime.output()).not.toContain(n);
  });

  it('sends no SMS after an acknowledgement over the WebSocket', async () => {
    const dispatcher = await connect(cast.dispatcher);
    await dispatcher.request({ action: 'subscribe', room: 'dispatch' });
    const orderId = await orderFor(runtime.url, cast);
    const opened = await dispatcher.waitForEvent('dispatch', (e) => e.orderId === orderId && e.kind === 'alert', 10_000);
    const ack = await dispatcher.request({ action: 'ackAlert', alertId: opened.alertId });
    expect(ack).toMatchObject({ type: 'ack', alert: { alertId: opened.alertId, state: 'acknowledged', acknowledgedBy: 'dispatcher-1' } });
    expectTableAck('ackAlert', ack);
    await dispatcher.waitForEvent('dispatch', (e) => e.alertId === opened.alertId && e.state === 'acknowledged');
    await new Promise((r) => setTimeout(r, 4000)); // past every level's time
    expect(await smsFor(orderId)).toEqual([]);
    const again = await dispatcher.request({ action: 'ackAlert', alertId: opened.alertId });
    expect(again).toMatchObject({ type: 'ack', alert: { state: 'acknowledged' } });
  });

  it('acknowledges over HTTP, for dispatchers only, within the tenant', async () => {
    const dispatcher = await connect(cast.dispatcher);
    await dispatcher.request({ action: 'subscribe', room: 'dispatch' });
    const orderId = await orderFor(runtime.url, cast);
    const opened = await dispatcher.waitForEvent('dispatch', (e) => e.orderId === orderId && e.kind === 'alert', 10_000);
    const path = `/api/alerts/${opened.alertId as string}/ack`;
    expect((await http(runtime.url, 'POST', path, { token: cast.retailer })).status).toBe(403);
    const outsider = await castOf(secret, uniqueTenant('other'));
    expect((await http(runtime.url, 'POST', path, { token: outsider.dispatcher })).status).toBe(404);
    const res = await http<{ alert: Frame }>(runtime.url, 'POST', path, { token: cast.dispatcher });
    expect(res.status).toBe(200);
    expect(res.body.alert).toMatchObject({ alertId: opened.alertId, state: 'acknowledged' });
    const driver = await connect(cast.driver);
    expect(await driver.request({ action: 'ackAlert', alertId: opened.alertId })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
  });

  it('resolves the alert when the order moves on, and pushes that', async () => {
    const retailer = await connect(cast.retailer);
    const orderId = await orderFor(runtime.url, cast);
    await retailer.request({ action: 'subscribe', room: `order:${orderId}` });
    const opened = await retailer.waitForEvent(`order:${orderId}`, (e) => e.kind === 'alert' && e.state === 'open', 10_000);
    const driver = await connect(cast.driver);
    const moved = await driver.request(checkpoint(orderId, 'picked_up'));
    expect(moved).toMatchObject({ type: 'ack', status: 'picked_up' });
    const resolved = await retailer.waitForEvent(`order:${orderId}`, (e) => e.kind === 'alert' && e.state === 'resolved');
    expect(resolved).toMatchObject({ alertId: opened.alertId, status: 'created', seq: (moved.seq as number) + 1 });
    const resolvedList = await http<{ alerts: Frame[] }>(runtime.url, 'GET', '/api/alerts?state=resolved', { token: cast.dispatcher });
    expect(resolvedList.body.alerts.find((a) => a.alertId === opened.alertId)).toMatchObject({ state: 'resolved' });
  });

  it('reads and replaces the policy: dispatchers only, a bad one refused naming the field', async () => {
    const tenant = await castOf(secret, uniqueTenant('pol'));
    const got = await http(runtime.url, 'GET', '/api/sla-policy', { token: tenant.dispatcher });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(policy);
    const bad = await http<{ error: { code: string; message: string } }>(runtime.url, 'PUT', '/api/sla-policy', {
      token: tenant.dispatcher,
      body: { ...policy, escalation: [{ afterSeconds: 0, notify: 'sms', to: ['555-0100'] }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'VALIDATION' });
    expect(bad.body.error.message).toContain('escalation[0].to[0]');
    expect((await http(runtime.url, 'GET', '/api/sla-policy', { token: tenant.dispatcher })).body).toEqual(policy);
    const next = { dwellSeconds: { packed: 600 }, escalation: [{ afterSeconds: 0, notify: 'dispatch' }] };
    const put = await http(runtime.url, 'PUT', '/api/sla-policy', { token: tenant.dispatcher, body: next });
    expect(put.status).toBe(200);
    expect((await http(runtime.url, 'GET', '/api/sla-policy', { token: tenant.dispatcher })).body).toEqual(next);
    const read = await http<{ error: { code: string; message: string } }>(runtime.url, 'GET', '/api/sla-policy', { token: tenant.retailer });
    expect(read.status).toBe(403);
    expect(read.body.error).toEqual({ code: 'FORBIDDEN', message: 'Only dispatchers may see the SLA policy.' });
    const write = await http<{ error: { code: string; message: string } }>(runtime.url, 'PUT', '/api/sla-policy', { token: tenant.driver, body: next });
    expect(write.status).toBe(403);
    expect(write.body.error).toEqual({ code: 'FORBIDDEN', message: 'Only dispatchers may set the SLA policy.' });
  });
});
