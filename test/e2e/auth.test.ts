/**
 * CONTRACT §2, identity and rights: bad tokens are refused before anything
 * happens (401, no socket); within a tenant, what is outside a role's rights
 * is FORBIDDEN; another tenant's things are NOT_FOUND and its feeds silent;
 * a recipient's phone is shown only to dispatchers and the assigned driver.
 */
import { SignJWT } from 'jose';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { signLocalToken } from '../../shared/runtime/auth';
import { castOf, checkpoint, http, orderFor, uniqueId, uniqueTenant, UpgradeRefused, WsClient, type Cast, type Frame, socketPool } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PHONE = '+15550100999';

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('auth'));
});

// ------------------------------------------------------------------ tokens

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

/** An HS256 token with exactly these claims. */
function signed(claims: Record<string, unknown>, key = secret): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(key));
}

type BadToken = [name: string, make: (tenant: string) => Promise<string | undefined>];

const badTokens: BadToken[] = [
  ['no token', async () => undefined],
  ['an empty token', async () => ''],
  ['a garbage token', async () => 'not-a-jwt'],
  ['a three-part garbage token', async () => 'aaaa.bbbb.cccc'],
  ['a token signed with another secret', (tenant) => signLocalToken('some-other-secret', { tenant, role: 'dispatcher', sub: 'mallory' })],
  [
    'an expired token',
    (tenant) => signed({ sub: 'dispatcher-1', tenant, role: 'dispatcher', exp: Math.floor(Date.now() / 1000) - 60 }),
  ],
  [
    'an alg:none token',
    async (tenant) =>
      `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'dispatcher-1', tenant, role: 'dispatcher', exp: inAnHour() })}.`,
  ],
  [
    'a token whose payload was changed after signing',
    async (tenant) => {
      const [header, , signature] = (await signLocalToken(secret, { tenant, role: 'driver', sub: 'driver-1' })).split('.');
      return `${header}.${b64url({ sub: 'driver-1', tenant, role: 'dispatcher', exp: inAnHour() })}.${signature}`;
    },
  ],
  ['a token without tenant', () => signed({ sub: 'dispatcher-1', role: 'dispatcher', exp: inAnHour() })],
  ['a token without role', (tenant) => signed({ sub: 'dispatcher-1', tenant, exp: inAnHour() })],
  ['a token with an unknown role', (tenant) => signed({ sub: 'root', tenant, role: 'admin', exp: inAnHour() })],
  ['a token without sub', (tenant) => signed({ tenant, role: 'dispatcher', exp: inAnHour() })],
  ['a retailer token without retailerId', (tenant) => signed({ sub: 'retailer-user-1', tenant, role: 'retailer', exp: inAnHour() })],
];

describe('tokens', () => {
  it.each(badTokens)('refuses the WebSocket upgrade with 401 for %s', async (_name, make) => {
    const token = await make(cast.tenant);
    const attempt = WsClient.connect(url, token).then((c) => {
      void c.close(); // it should never have opened
      return c;
    });
    const err = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UpgradeRefused);
    expect((err as UpgradeRefused).status).toBe(401);
  });

  it.each(badTokens)('answers HTTP with 401 UNAUTHORIZED for %s', async (_name, make) => {
    const token = await make(cast.tenant);
    const list = await http<{ error: { code: string; message: string } }>(url, 'GET', '/api/orders', token === undefined ? {} : { token });
    expect(list.status).toBe(401);
    expect(list.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(typeof list.body.error.message).toBe('string');

    // Identity is checked before the body: an invalid body still gets 401, and nothing is created.
    const create = await http(url, 'POST', '/api/orders', {
      ...(token !== undefined && { token }),
      body: { orderId: uniqueId('ord'), retailerId: 'retailer-a', recipient: { name: 'X' }, destination: { address: 'Y' } },
    });
    expect(create.status).toBe(401);
    expect(create.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('refuses a token sent with a scheme other than Bearer', async () => {
    const res = await fetch(`${url}/api/orders`, { headers: { authorization: `Basic ${cast.dispatcher}` } });
    expect(res.status).toBe(401);
  });

  it('lets every role of a valid cast connect and use HTTP', async () => {
    for (const token of [cast.dispatcher, cast.retailer, cast.otherRetailer, cast.driver, cast.otherDriver]) {
      const c = await connect(token);
      expect(c.isOpen).toBe(true);
      expect(await c.request({ action: 'ping' })).toMatchObject({ type: 'ack' });
      const list = await http(url, 'GET', '/api/orders', { token });
      expect(list.status).toBe(200);
    }
    // A token from `jose` directly, with the contract's claims and nothing else, works too.
    const hand = await signed({ sub: 'retailer-user-9', tenant: cast.tenant, role: 'retailer', retailerId: 'retailer-a', exp: inAnHour() });
    const c = await connect(hand);
    expect(await c.request({ action: 'subscribe', room: 'retailer:retailer-a' })).toMatchObject({ type: 'ack' });
  });
});

// ------------------------------------------------------------------ rights

interface OrderBody {
  order: { orderId: string; headSeq: number; status: string; recipient: { name: string; phone?: string } };
}

async function headSeqOf(orderId: string, c: Cast = cast): Promise<number> {
  const res = await http<OrderBody>(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}`, { token: c.dispatcher });
  expect(res.status).toBe(200);
  return res.body.order.headSeq;
}

function expectError(reply: Frame, code: string): void {
  expect(reply).toMatchObject({ type: 'error', code });
  expect(typeof reply.message).toBe('string');
}

describe('rights within a tenant', () => {
  it("keeps a retailer out of another retailer's order and rooms", async () => {
    const orderId = await orderFor(url, cast);
    const id = encodeURIComponent(orderId);
    for (const path of [`/api/orders/${id}`, `/api/orders/${id}/timeline`, `/api/orders/${id}/timeline.csv`]) {
      const res = await http(url, 'GET', path, { token: cast.otherRetailer });
      expect(res.status, path).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    const list = await http<{ orders: { orderId: string }[] }>(url, 'GET', '/api/orders', { token: cast.otherRetailer });
    expect(list.status).toBe(200);
    expect(list.body.orders.map((o) => o.orderId)).not.toContain(orderId);

    const other = await connect(cast.otherRetailer);
    const sub = await other.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 0 });
    expectError(sub, 'FORBIDDEN');
    expect(sub).not.toHaveProperty('items');
    expectError(await other.request({ action: 'subscribe', room: 'retailer:retailer-a' }), 'FORBIDDEN');
    expectError(await other.request({ action: 'subscribe', room: 'dispatch' }), 'FORBIDDEN');
    expectError(await other.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: 'psst' }), 'FORBIDDEN');
    expectError(await other.request(checkpoint(orderId, 'cancelled')), 'FORBIDDEN');

    const own = await connect(cast.retailer);
    expectError(await own.request({ action: 'subscribe', room: 'retailer:retailer-b' }), 'FORBIDDEN');
    expectError(await own.request({ action: 'subscribe', room: 'dispatch' }), 'FORBIDDEN');
    expect(await own.request({ action: 'subscribe', room: 'retailer:retailer-a' })).toMatchObject({ type: 'ack', room: 'retailer:retailer-a' });
    expect(await own.request({ action: 'subscribe', room: `order:${orderId}` })).toMatchObject({ type: 'ack', headSeq: 2 });
    expect(other.isOpen && own.isOpen).toBe(true);
    expect(await headSeqOf(orderId)).toBe(2);
  });

  it('keeps a driver off orders not assigned to them, and out of dispatch', async () => {
    const orderId = await orderFor(url, cast);
    const other = await connect(cast.otherDriver);
    const eventId = uniqueId('ev');
    expectError(await other.request(checkpoint(orderId, 'picked_up', { eventId })), 'FORBIDDEN');
    expectError(await other.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: 'mine now' }), 'FORBIDDEN');
    expectError(await other.request({ action: 'subscribe', room: `order:${orderId}` }), 'FORBIDDEN');
    expectError(await other.request({ action: 'subscribe', room: 'dispatch' }), 'FORBIDDEN');
    expectError(await other.request({ action: 'subscribe', room: 'retailer:retailer-a' }), 'FORBIDDEN');
    expect(other.isOpen).toBe(true);
    const get = await http(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}`, { token: cast.otherDriver });
    expect(get.status).toBe(403);
    expect(get.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(await headSeqOf(orderId)).toBe(2);

    const assigned = await connect(cast.driver);
    expectError(await assigned.request({ action: 'subscribe', room: 'dispatch' }), 'FORBIDDEN');
    // The refused checkpoint stored nothing: its eventId is new for the assigned driver.
    expect(await assigned.request(checkpoint(orderId, 'picked_up', { eventId }))).toMatchObject({ type: 'ack', seq: 3, duplicate: false });
  });

  it('moves the rights with a reassignment', async () => {
    const orderId = await orderFor(url, cast);
    const reassign = await http(url, 'POST', `/api/orders/${encodeURIComponent(orderId)}/assign`, {
      token: cast.dispatcher,
      body: { driverId: 'driver-2' },
    });
    expect(reassign.status).toBe(200);
    const before = await connect(cast.driver);
    const now = await connect(cast.otherDriver);
    expectError(await before.request(checkpoint(orderId, 'picked_up')), 'FORBIDDEN');
    expect(await now.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 4, duplicate: false });
    const get = await http(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}`, { token: cast.driver });
    expect(get.status).toBe(403);
  });

  it('lets a retailer cancel before pickup and follow up, but not move the parcel', async () => {
    const retailer = await connect(cast.retailer);
    const driver = await connect(cast.driver);
    const dispatcher = await connect(cast.dispatcher);

    const a = await orderFor(url, cast);
    for (const status of ['picked_up', 'packed', 'picking', 'in_transit']) {
      expectError(await retailer.request(checkpoint(a, status)), 'FORBIDDEN');
    }
    expect(await headSeqOf(a)).toBe(2);
    expect(await retailer.request({ action: 'message', messageId: uniqueId('msg'), orderId: a, text: 'Please ring twice' })).toMatchObject({
      type: 'ack',
      seq: 3,
    });
    expect(await retailer.request(checkpoint(a, 'cancelled'))).toMatchObject({ type: 'ack', seq: 4, status: 'cancelled', duplicate: false });

    const b = await orderFor(url, cast);
    expect(await driver.request(checkpoint(b, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });
    expectError(await retailer.request(checkpoint(b, 'cancelled')), 'FORBIDDEN');
    // Still not after a pickup, even from a status that may move to cancelled.
    expect(await driver.request(checkpoint(b, 'exception', { reason: 'held at customs' }))).toMatchObject({ type: 'ack', seq: 4 });
    expectError(await retailer.request(checkpoint(b, 'cancelled')), 'FORBIDDEN');
    expect(await headSeqOf(b)).toBe(4);

    const c = await orderFor(url, cast);
    for (const status of ['picked_up', 'out_for_delivery']) {
      expect(await dispatcher.request(checkpoint(c, status))).toMatchObject({ type: 'ack' });
    }
    expect(await dispatcher.request(checkpoint(c, 'delivered', { proof: { recipientType: 'neighbor', recipientName: 'Bo' } }))).toMatchObject({
      type: 'ack',
      seq: 5,
    });
    expect(await retailer.request(checkpoint(c, 'followed_up', { note: 'called the customer' }))).toMatchObject({
      type: 'ack',
      seq: 6,
      status: 'followed_up',
    });
  });

  it('lets only dispatchers assign', async () => {
    const orderId = await orderFor(url, cast);
    for (const token of [cast.retailer, cast.driver, cast.otherDriver]) {
      const res = await http(url, 'POST', `/api/orders/${encodeURIComponent(orderId)}/assign`, { token, body: { driverId: 'driver-2' } });
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    }
    expect(await headSeqOf(orderId)).toBe(2);
  });
});

describe('tenant isolation', () => {
  it("answers another tenant's order with NOT_FOUND everywhere and stores nothing", async () => {
    const orderId = await orderFor(url, cast);
    const id = encodeURIComponent(orderId);
    const b = await castOf(secret, uniqueTenant('authB'));

    for (const path of [`/api/orders/${id}`, `/api/orders/${id}/timeline`, `/api/orders/${id}/timeline.csv`]) {
      for (const token of [b.dispatcher, b.retailer, b.driver]) {
        const res = await http(url, 'GET', path, { token });
        expect(res.status, path).toBe(404);
        expect(res.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
      }
    }
    const assign = await http(url, 'POST', `/api/orders/${id}/assign`, { token: b.dispatcher, body: { driverId: 'driver-1' } });
    expect(assign.status).toBe(404);
    expect(assign.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    // Who may never assign is refused alike for A's order and for an order that does not exist: nothing leaks.
    for (const token of [b.retailer, b.driver]) {
      const theirs = await http(url, 'POST', `/api/orders/${id}/assign`, { token, body: { driverId: 'driver-1' } });
      const none = await http(url, 'POST', `/api/orders/${encodeURIComponent(uniqueId('none'))}/assign`, { token, body: { driverId: 'driver-1' } });
      expect(theirs.status).toBe(none.status);
      expect((theirs.body as { error: { code: string } }).error.code).toBe((none.body as { error: { code: string } }).error.code);
    }
    const list = await http<{ orders: { orderId: string }[] }>(url, 'GET', '/api/orders', { token: b.dispatcher });
    expect(list.body.orders.map((o) => o.orderId)).not.toContain(orderId);

    // An eventId tenant A used is unknown to tenant B too: no duplicate ack leaks A's seq.
    const driverA = await connect(cast.driver);
    const used = checkpoint(orderId, 'picked_up');
    expect(await driverA.request(used)).toMatchObject({ type: 'ack', seq: 3 });

    const dispatcherB = await connect(b.dispatcher);
    expectError(await dispatcherB.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 0 }), 'NOT_FOUND');
    expectError(await dispatcherB.request(checkpoint(orderId, 'in_transit')), 'NOT_FOUND');
    expectError(await dispatcherB.request(used), 'NOT_FOUND');
    expectError(await dispatcherB.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: 'hello?' }), 'NOT_FOUND');
    expectError(await dispatcherB.request({ action: 'read', orderId, seq: 1 }), 'NOT_FOUND');
    const driverB = await connect(b.driver);
    expectError(await driverB.request(checkpoint(orderId, 'in_transit')), 'NOT_FOUND');
    expect(dispatcherB.isOpen && driverB.isOpen).toBe(true);

    const a = await http<OrderBody>(url, 'GET', `/api/orders/${id}`, { token: cast.dispatcher });
    expect(a.body.order).toMatchObject({ headSeq: 3, status: 'picked_up' });
  });

  it("never pushes one tenant's events to another tenant's rooms", async () => {
    const b = await castOf(secret, uniqueTenant('authB'));
    const dispatcherA = await connect(cast.dispatcher);
    const dispatcherB = await connect(b.dispatcher);
    const retailerB = await connect(b.retailer);
    expect(await dispatcherA.request({ action: 'subscribe', room: 'dispatch' })).toMatchObject({ type: 'ack' });
    expect(await dispatcherB.request({ action: 'subscribe', room: 'dispatch' })).toMatchObject({ type: 'ack' });
    expect(await dispatcherB.request({ action: 'subscribe', room: 'retailer:retailer-a' })).toMatchObject({ type: 'ack' });
    expect(await retailerB.request({ action: 'subscribe', room: 'retailer:retailer-a' })).toMatchObject({ type: 'ack' });

    const orderId = await orderFor(url, cast);
    const driverA = await connect(cast.driver);
    expect(await driverA.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: 3 });
    await dispatcherA.waitForEvent('dispatch', (e) => e.orderId === orderId && e.seq === 3);
    await sleep(1000);
    expect(dispatcherB.events()).toEqual([]);
    expect(retailerB.events()).toEqual([]);
  });
});

describe("the recipient's phone", () => {
  it('is shown to the dispatcher and the assigned driver, never to the retailer', async () => {
    const orderId = await orderFor(url, cast);
    const id = encodeURIComponent(orderId);
    const get = (token: string) => http<OrderBody>(url, 'GET', `/api/orders/${id}`, { token });

    expect((await get(cast.dispatcher)).body.order.recipient).toEqual({ name: 'Ada', phone: PHONE });
    expect((await get(cast.driver)).body.order.recipient).toEqual({ name: 'Ada', phone: PHONE });
    const forRetailer = await get(cast.retailer);
    expect(forRetailer.status).toBe(200);
    expect(forRetailer.body.order.recipient).toEqual({ name: 'Ada' });
    expect(forRetailer.text).not.toContain(PHONE);

    // Nor through the list, the timeline, the CSV or the order room.
    const list = await http(url, 'GET', '/api/orders', { token: cast.retailer });
    expect(list.text).toContain(orderId);
    expect(list.text).not.toContain(PHONE);
    const driverList = await http(url, 'GET', '/api/orders', { token: cast.driver });
    expect(driverList.text).toContain(PHONE);
    for (const path of [`/api/orders/${id}/timeline`, `/api/orders/${id}/timeline.csv`]) {
      const res = await http(url, 'GET', path, { token: cast.retailer });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(PHONE);
    }
    const retailer = await connect(cast.retailer);
    const sub = await retailer.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 0 });
    expect(sub).toMatchObject({ type: 'ack', headSeq: 2 });
    expect(JSON.stringify(sub)).not.toContain(PHONE);
  });
});
