/**
 * CONTRACT §4, the HTTP API: creating orders (idempotent on orderId and body),
 * assigning drivers, listing within each role's scope with filters and
 * cursors, the timeline as JSON and as CSV, and the unauthenticated health
 * check.
 */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueId, uniqueTenant, WsClient, type Cast, type HttpResult } from '../support/client';
import { runtimeCredentials, signedFetch } from '../support/management';
import { parseCsv } from '../support/csv';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('http'));
});

interface Order {
  orderId: string;
  tenant: string;
  retailerId: string;
  driverId?: string;
  status: string;
  statusSince: string;
  headSeq: number;
  recipient: { name: string; phone?: string };
  destination: { address: string; lat?: number; lng?: number };
  promisedBy?: string;
  createdAt: string;
}
interface ApiError {
  error: { code: string; message: string; details?: unknown };
}
interface TimelineItem {
  orderId: string;
  seq: number;
  kind: string;
  at: string;
  actor: { sub: string; role: string };
  [field: string]: unknown;
}

const isoTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const path = (orderId: string, rest = '') => `/api/orders/${encodeURIComponent(orderId)}${rest}`;

function orderBody(orderId: string | undefined, over: Record<string, unknown> = {}) {
  return {
    ...(orderId !== undefined && { orderId }),
    retailerId: 'retailer-a',
    recipient: { name: 'Grace Hopper', phone: '+15550100123' },
    destination: { address: '7 Harbour Road', lat: 40.7, lng: -74 },
    promisedBy: '2030-01-02T17:00:00Z',
    ...over,
  };
}

async function create(token: string, body: unknown) {
  return http<{ order: Order } & Partial<ApiError>>(url, 'POST', '/api/orders', { token, body });
}

async function withSocket<T>(token: string, use: (c: WsClient) => Promise<T>): Promise<T> {
  const c = await WsClient.connect(url, token);
  try {
    return await use(c);
  } finally {
    await c.close();
  }
}

describe('POST /api/orders', () => {
  it('creates an order: 201 with the order fields', async () => {
    const orderId = uniqueId('ord');
    const before = Date.now();
    const res = await create(cast.dispatcher, orderBody(orderId));
    expect(res.status).toBe(201);
    const order = res.body.order;
    expect(order).toMatchObject({
      orderId,
      tenant: cast.tenant,
      retailerId: 'retailer-a',
      status: 'created',
      headSeq: 1,
      recipient: { name: 'Grace Hopper', phone: '+15550100123' },
      destination: { address: '7 Harbour Road', lat: 40.7, lng: -74 },
      promisedBy: '2030-01-02T17:00:00Z',
    });
    expect(order).not.toHaveProperty('driverId');
    for (const t of [order.statusSince, order.createdAt]) {
      expect(t).toMatch(isoTime);
      expect(Date.parse(t)).toBeGreaterThanOrEqual(before - 60_000);
      expect(Date.parse(t)).toBeLessThanOrEqual(Date.now() + 60_000);
    }
    const got = await http<{ order: Order }>(url, 'GET', path(orderId), { token: cast.dispatcher });
    expect(got.status).toBe(200);
    expect(got.body.order).toMatchObject({ orderId, status: 'created', headSeq: 1, createdAt: order.createdAt });
  });

  it('refuses a number storage cannot take (lat 1e-200) with 400 VALIDATION naming the field, storing nothing', async () => {
    const orderId = uniqueId('ord');
    const res = await create(cast.dispatcher, orderBody(orderId, { destination: { address: '7 Harbour Road', lat: 1e-200, lng: 0 } }));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION' });
    expect(res.body.error?.message).toContain('destination.lat');
    expect((await http(url, 'GET', path(orderId), { token: cast.dispatcher })).status).toBe(404);
  });

  it('lets a retailer create for itself, without showing it the phone', async () => {
    const orderId = uniqueId('ord');
    const res = await create(cast.retailer, orderBody(orderId));
    expect(res.status).toBe(201);
    expect(res.body.order).toMatchObject({ orderId, retailerId: 'retailer-a', recipient: { name: 'Grace Hopper' } });
    expect(res.body.order.recipient).not.toHaveProperty('phone');
  });

  it('answers the same orderId and body again with 200 and the same order', async () => {
    const orderId = uniqueId('ord');
    const first = await create(cast.retailer, orderBody(orderId));
    expect(first.status).toBe(201);
    const again = await create(cast.retailer, orderBody(orderId));
    expect(again.status).toBe(200);
    expect(again.body.order).toEqual(first.body.order);
    // The same body with its keys in another order is the same body.
    const b = orderBody(orderId);
    const reordered = { promisedBy: b.promisedBy, destination: { lng: -74, lat: 40.7, address: '7 Harbour Road' }, recipient: b.recipient, retailerId: 'retailer-a', orderId };
    const third = await create(cast.retailer, reordered);
    expect(third.status).toBe(200);
    expect(third.body.order).toEqual(first.body.order);
    const timeline = await http<{ items: TimelineItem[]; headSeq: number }>(url, 'GET', path(orderId, '/timeline'), { token: cast.dispatcher });
    expect(timeline.body.headSeq).toBe(1);
    expect(timeline.body.items).toHaveLength(1);
  });

  it('answers the same orderId with another body with 409 CONFLICT and keeps the first', async () => {
    const orderId = uniqueId('ord');
    expect((await create(cast.dispatcher, orderBody(orderId))).status).toBe(201);
    for (const over of [{ recipient: { name: 'Someone Else' } }, { destination: { address: '8 Harbour Road' } }, { promisedBy: undefined }]) {
      const res = await create(cast.dispatcher, orderBody(orderId, over));
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ error: { code: 'CONFLICT' } });
    }
    const got = await http<{ order: Order }>(url, 'GET', path(orderId), { token: cast.dispatcher });
    expect(got.body.order).toMatchObject({ recipient: { name: 'Grace Hopper' }, destination: { address: '7 Harbour Road' }, headSeq: 1 });
  });

  it.each([
    ['recipient.name missing', { recipient: { phone: '+15550100123' } }, 'recipient.name'],
    ['recipient.name empty', { recipient: { name: '' } }, 'recipient.name'],
    ['recipient missing', { recipient: undefined }, 'recipient'],
    ['destination.address missing', { destination: { lat: 1, lng: 1 } }, 'destination.address'],
    ['destination.lat 91', { destination: { address: 'x', lat: 91 } }, 'destination.lat'],
    ['retailerId missing', { retailerId: undefined }, 'retailerId'],
    ['promisedBy without a zone', { promisedBy: '2030-01-02T17:00:00' }, 'promisedBy'],
    ['a 129-character orderId', { orderId: 'o'.repeat(129) }, 'orderId'],
  ])('refuses a body with %s: 400 VALIDATION naming the field', async (_name, over, field) => {
    const orderId = uniqueId('ord');
    const res = await create(cast.dispatcher, orderBody(orderId, over));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: 'VALIDATION' } });
    expect(res.body.error?.message).toContain(field);
    expect((await http(url, 'GET', path(orderId), { token: cast.dispatcher })).status).toBe(404);
  });

  it('refuses a body that is not JSON with 400', async () => {
    for (const rawBody of ['{"orderId": "x",', 'not json', '']) {
      const res = await http<ApiError>(url, 'POST', '/api/orders', { token: cast.dispatcher, rawBody });
      expect(res.status, JSON.stringify(rawBody)).toBe(400);
      expect(['BAD_JSON', 'VALIDATION']).toContain(res.body.error.code);
    }
  });

  it('refuses a retailer creating for another retailer, and a driver creating at all: 403', async () => {
    const forOther = await create(cast.retailer, orderBody(uniqueId('ord'), { retailerId: 'retailer-b' }));
    expect(forOther.status).toBe(403);
    expect(forOther.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const byDriver = await create(cast.driver, orderBody(uniqueId('ord')));
    expect(byDriver.status).toBe(403);
    expect(byDriver.body).toMatchObject({ error: { code: 'FORBIDDEN' } });
    const list = await http<{ orders: Order[] }>(url, 'GET', '/api/orders', { token: cast.dispatcher });
    expect(list.body.orders).toEqual([]);
  });

  it('generates an orderId when none is given', async () => {
    const a = await create(cast.retailer, orderBody(undefined));
    const b = await create(cast.retailer, orderBody(undefined));
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    const id = a.body.order.orderId;
    expect(typeof id).toBe('string');
    expect(id.length).toBeGreaterThan(0);
    expect(id.length).toBeLessThanOrEqual(128);
    expect(b.body.order.orderId).not.toBe(id);
    const got = await http<{ order: Order }>(url, 'GET', path(id), { token: cast.retailer });
    expect(got.status).toBe(200);
    expect(got.body.order.orderId).toBe(id);
  });

  it('keeps the same orderId apart in two tenants', async () => {
    const other = await castOf(secret, uniqueTenant('http'));
    const orderId = uniqueId('ord');
    expect((await create(cast.dispatcher, orderBody(orderId))).status).toBe(201);
    const there = await create(other.dispatcher, orderBody(orderId, { recipient: { name: 'Other Tenant' } }));
    expect(there.status).toBe(201);
    expect(there.body.order).toMatchObject({ orderId, tenant: other.tenant, recipient: { name: 'Other Tenant' } });
    const here = await http<{ order: Order }>(url, 'GET', path(orderId), { token: cast.dispatcher });
    expect(here.body.order).toMatchObject({ tenant: cast.tenant, recipient: { name: 'Grace Hopper' } });
  });
});

describe('POST /api/orders/{id}/assign', () => {
  it('lets a dispatcher assign a driver: 200 with driverId, an assigned event on the timeline', async () => {
    const orderId = uniqueId('ord');
    expect((await create(cast.retailer, orderBody(orderId))).status).toBe(201);
    const res = await http<{ order: Order }>(url, 'POST', path(orderId, '/assign'), { token: cast.dispatcher, body: { driverId: 'driver-7' } });
    expect(res.status).toBe(200);
    expect(res.body.order).toMatchObject({ orderId, driverId: 'driver-7', headSeq: 2, status: 'created' });
    const timeline = await http<{ items: TimelineItem[] }>(url, 'GET', path(orderId, '/timeline'), { token: cast.dispatcher });
    expect(timeline.body.items[1]).toMatchObject({ seq: 2, kind: 'assigned', driverId: 'driver-7', actor: { sub: 'dispatcher-1', role: 'dispatcher' } });

    const again = await http<{ order: Order }>(url, 'POST', path(orderId, '/assign'), { token: cast.dispatcher, body: { driverId: 'driver-7' } });
    expect(again.status).toBe(200);
    expect(again.body.order.driverId).toBe('driver-7');
  });

  it('refuses retailers and drivers (403), a missing driverId (400) and an unknown order (404)', async () => {
    const orderId = uniqueId('ord');
    expect((await create(cast.retailer, orderBody(orderId))).status).toBe(201);
    for (const token of [cast.retailer, cast.driver]) {
      const res = await http<ApiError>(url, 'POST', path(orderId, '/assign'), { token, body: { driverId: 'driver-1' } });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    const missing = await http<ApiError>(url, 'POST', path(orderId, '/assign'), { token: cast.dispatcher, body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'VALIDATION' });
    expect(missing.body.error.message).toContain('driverId');
    const unknown = await http<ApiError>(url, 'POST', path(uniqueId('none'), '/assign'), { token: cast.dispatcher, body: { driverId: 'driver-1' } });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('NOT_FOUND');
    const got = await http<{ order: Order }>(url, 'GET', path(orderId), { token: cast.dispatcher });
    expect(got.body.order).not.toHaveProperty('driverId');
    expect(got.body.order.headSeq).toBe(1);
  });
});

describe('POST /api/orders/{id}/assign on a finished order (CONTRACT §4)', () => {
  it('answers 409 CONFLICT with the error body for a delivered order, and for a cancelled one, storing nothing', async () => {
    const delivered = await orderFor(url, cast);
    await withSocket(cast.driver, async (d) => {
      for (const status of ['picked_up', 'out_for_delivery']) expect(await d.request(checkpoint(delivered, status))).toMatchObject({ type: 'ack' });
      expect(await d.request(checkpoint(delivered, 'delivered', { proof: { recipientType: 'self' } }))).toMatchObject({ type: 'ack', seq: 5 });
    });
    const cancelled = await orderFor(url, cast);
    await withSocket(cast.dispatcher, async (d) => {
      expect(await d.request(checkpoint(cancelled, 'cancelled'))).toMatchObject({ type: 'ack', seq: 3, status: 'cancelled' });
    });

    for (const [orderId, status, headSeq] of [
      [delivered, 'delivered', 5],
      [cancelled, 'cancelled', 3],
    ] as const) {
      // Another driver, and the very driver it has: both refused.
      for (const driverId of ['driver-2', 'driver-1']) {
        const res = await http<ApiError>(url, 'POST', path(orderId, '/assign'), { token: cast.dispatcher, body: { driverId } });
        expect(res.status, `${status} → ${driverId}`).toBe(409);
        expect(res.body).toEqual({ error: { code: 'CONFLICT', message: expect.stringContaining(status) as unknown, details: { status } } });
      }
      const got = await http<{ order: Order }>(url, 'GET', path(orderId), { token: cast.dispatcher });
      expect(got.body.order).toMatchObject({ status, headSeq, driverId: 'driver-1' });
      const timeline = await http<{ items: TimelineItem[] }>(url, 'GET', path(orderId, '/timeline'), { token: cast.dispatcher });
      expect(timeline.body.items.filter((e) => e.kind === 'assigned')).toHaveLength(1);
    }
  });
});

describe('PUT /api/sla-policy: keys from the caller', () => {
  it('answers {"dwellSeconds":{"__proto__":5}} with 400 VALIDATION naming the key, and keeps the policy', async () => {
    const before = await http(url, 'GET', '/api/sla-policy', { token: cast.dispatcher });
    expect(before.status).toBe(200);
    for (const rawBody of ['{"dwellSeconds":{"__proto__":5}}', '{"dwellSeconds":{"__proto__":5},"escalation":[]}', '{"dwellSeconds":{"constructor":5},"escalation":[]}']) {
      const res = await http<ApiError>(url, 'PUT', '/api/sla-policy', { token: cast.dispatcher, rawBody });
      expect(res.status, rawBody).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION');
      const key = rawBody.includes('constructor') ? 'constructor' : '__proto__';
      expect(res.body.error.message).toContain(`"dwellSeconds.${key}"`);
      expect((res.body.error.details as { issues: { field: string }[] }).issues.map((i) => i.field)).toContain(`dwellSeconds.${key}`);
    }
    expect((await http(url, 'GET', '/api/sla-policy', { token: cast.dispatcher })).body).toEqual(before.body);
  });
});

describe('PUT /api/sla-policy: a number twice in one level (CONTRACT §6)', () => {
  it('is 400 VALIDATION naming escalation[1].to[1], and the policy is kept', async () => {
    const before = await http(url, 'GET', '/api/sla-policy', { token: cast.dispatcher });
    const body = {
      dwellSeconds: { created: 600 },
      escalation: [
        { afterSeconds: 0, notify: 'dispatch' },
        { afterSeconds: 900, notify: 'sms', to: ['+15550100001', '+15550100001'] },
      ],
    };
    const res = await http<ApiError>(url, 'PUT', '/api/sla-policy', { token: cast.dispatcher, body });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION');
    expect((res.body.error.details as { issues: { field: string }[] }).issues.map((i) => i.field)).toEqual(['escalation[1].to[1]']);
    expect((await http(url, 'GET', '/api/sla-policy', { token: cast.dispatcher })).body).toEqual(before.body);
  });
});

describe('GET /api/orders', () => {
  /** retailer-a: a1 (driver-1), a2 (driver-1, picked_up), a3 (unassigned); retailer-b: b1 (driver-2), b2 (driver-1). */
  async function seedOrders() {
    const ids = { a1: uniqueId('a1'), a2: uniqueId('a2'), a3: uniqueId('a3'), b1: uniqueId('b1'), b2: uniqueId('b2') };
    const make = async (id: string, retailerId: string, driverId?: string) => {
      const res = await create(cast.dispatcher, orderBody(id, { retailerId }));
      expect(res.status).toBe(201);
      if (driverId !== undefined) {
        const a = await http(url, 'POST', path(id, '/assign'), { token: cast.dispatcher, body: { driverId } });
        expect(a.status).toBe(200);
      }
    };
    await make(ids.a1, 'retailer-a', 'driver-1');
    await make(ids.a2, 'retailer-a', 'driver-1');
    await make(ids.a3, 'retailer-a');
    await make(ids.b1, 'retailer-b', 'driver-2');
    await make(ids.b2, 'retailer-b', 'driver-1');
    await withSocket(cast.driver, async (d) => {
      expect(await d.request(checkpoint(ids.a2, 'picked_up'))).toMatchObject({ type: 'ack' });
    });
    return ids;
  }

  async function list(token: string, query = '') {
    const res = await http<{ orders: Order[]; cursor?: string } & Partial<ApiError>>(url, 'GET', `/api/orders${query}`, { token });
    return res;
  }
  const idsOf = (orders: Order[]) => orders.map((o) => o.orderId).sort();

  it('shows each role its own scope, and filters by retailerId and status', async () => {
    const ids = await seedOrders();
    const all = await list(cast.dispatcher);
    expect(all.status).toBe(200);
    expect(idsOf(all.body.orders)).toEqual(Object.values(ids).sort());
    expect(all.body.orders.every((o) => o.tenant === cast.tenant)).toBe(true);

    expect(idsOf((await list(cast.dispatcher, '?retailerId=retailer-b')).body.orders)).toEqual([ids.b1, ids.b2].sort());
    expect(idsOf((await list(cast.dispatcher, '?status=picked_up')).body.orders)).toEqual([ids.a2]);
    expect(idsOf((await list(cast.dispatcher, '?status=created')).body.orders)).toEqual([ids.a1, ids.a3, ids.b1, ids.b2].sort());
    expect(idsOf((await list(cast.dispatcher, '?status=created&retailerId=retailer-a')).body.orders)).toEqual([ids.a1, ids.a3].sort());
    expect((await list(cast.dispatcher, '?status=delivered')).body.orders).toEqual([]);

    expect(idsOf((await list(cast.retailer)).body.orders)).toEqual([ids.a1, ids.a2, ids.a3].sort());
    expect(idsOf((await list(cast.retailer, '?retailerId=retailer-a&status=picked_up')).body.orders)).toEqual([ids.a2]);
    expect(idsOf((await list(cast.otherRetailer)).body.orders)).toEqual([ids.b1, ids.b2].sort());
    expect(idsOf((await list(cast.driver)).body.orders)).toEqual([ids.a1, ids.a2, ids.b2].sort());
    expect(idsOf((await list(cast.otherDriver)).body.orders)).toEqual([ids.b1]);

    const listed = all.body.orders.find((o) => o.orderId === ids.a2);
    expect(listed).toMatchObject({ retailerId: 'retailer-a', driverId: 'driver-1', status: 'picked_up', headSeq: 3 });
  });

  it('refuses an unknown status filter with 400 VALIDATION', async () => {
    const res = await list(cast.dispatcher, '?status=teleported');
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('VALIDATION');
  });

  it('pages with limit and cursor, visiting every order exactly once', async () => {
    const ids = await seedOrders();
    for (const [query, expected] of [
      ['', Object.values(ids)],
      ['&status=created', [ids.a1, ids.a3, ids.b1, ids.b2]],
      ['&retailerId=retailer-a', [ids.a1, ids.a2, ids.a3]],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const res = await list(cast.dispatcher, `?limit=2${query}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        expect(res.status).toBe(200);
        if (query === '') expect(res.body.orders.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.orders.map((o) => o.orderId));
        cursor = res.body.cursor;
        pages++;
        expect(pages).toBeLessThan(20);
      } while (cursor !== undefined);
      expect(seen.length, query).toBe(new Set(seen).size);
      expect([...seen].sort(), query).toEqual([...expected].sort());
      if (query === '') expect(pages).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('GET /api/orders: cursors are bound to the tenant and the query (CONTRACT §4)', () => {
  async function orders(n: number, c: Cast = cast, retailerId = 'retailer-a'): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = uniqueId('cur');
      expect((await create(c.dispatcher, orderBody(id, { retailerId }))).status).toBe(201);
      ids.push(id);
    }
    return ids;
  }
  async function page(token: string, query: string) {
    return http<{ orders: Order[]; cursor?: string } & Partial<ApiError>>(url, 'GET', `/api/orders?${query}`, { token });
  }
  async function firstCursor(token: string, query = ''): Promise<string> {
    const res = await page(token, `limit=1${query}`);
    expect(res.status).toBe(200);
    expect(typeof res.body.cursor).toBe('string');
    return res.body.cursor!;
  }
  function expectCursorRefused(res: { status: number; body: Partial<ApiError> }, what: string): void {
    expect(res.status, what).toBe(400);
    expect(res.body.error?.code, what).toBe('VALIDATION');
    expect((res.body.error?.details as { field?: string } | undefined)?.field, what).toBe('cursor');
  }

  it("refuses another tenant's cursor with 400 VALIDATION, details.field cursor", async () => {
    const other = await castOf(secret, uniqueTenant('http'));
    await orders(2);
    await orders(2, other);
    const theirs = await firstCursor(other.dispatcher);
    expectCursorRefused(await page(cast.dispatcher, `cursor=${encodeURIComponent(theirs)}`), 'cross-tenant');
    expectCursorRefused(await page(cast.dispatcher, `limit=1&cursor=${encodeURIComponent(theirs)}`), 'cross-tenant, same limit');
    // It still works where it was issued.
    expect((await page(other.dispatcher, `limit=1&cursor=${encodeURIComponent(theirs)}`)).status).toBe(200);
  });

  it('refuses a cursor reused with another status, stalled or retailerId filter, or by another retailer or a driver', async () => {
    await orders(3);
    await orders(2, cast, 'retailer-b');
    const plain = encodeURIComponent(await firstCursor(cast.dispatcher));
    for (const query of ['status=created', 'stalled=true', 'retailerId=retailer-a']) {
      expectCursorRefused(await page(cast.dispatcher, `${query}&cursor=${plain}`), query);
    }
    const created = encodeURIComponent(await firstCursor(cast.dispatcher, '&status=created'));
    expect((await page(cast.dispatcher, `status=created&cursor=${created}`)).status).toBe(200);
    expectCursorRefused(await page(cast.dispatcher, `status=packed&cursor=${created}`), 'created → packed');
    expectCursorRefused(await page(cast.dispatcher, `cursor=${created}`), 'created → no filter');

    const retailerA = encodeURIComponent(await firstCursor(cast.retailer));
    expect((await page(cast.retailer, `cursor=${retailerA}`)).status).toBe(200);
    expectCursorRefused(await page(cast.otherRetailer, `cursor=${retailerA}`), "retailer-a's cursor used by retailer-b");
    expectCursorRefused(await page(cast.dispatcher, `cursor=${retailerA}`), "retailer-a's cursor used by a dispatcher, all retailers");
    expectCursorRefused(await page(cast.driver, `cursor=${retailerA}`), "retailer-a's cursor used by a driver");
  });

  it('refuses a tampered, truncated, non-base64, forged or overlong cursor, and never restarts the list', async () => {
    await orders(3);
    const cursor = await firstCursor(cast.dispatcher);
    const flip = (i: number) => cursor.slice(0, i) + (cursor[i] === 'A' ? 'B' : 'A') + cursor.slice(i + 1);
    const forged = Buffer.from(JSON.stringify({ pk: `T#${cast.tenant}#O#x`, sk: 'HEAD', gsiTenant: `T#${cast.tenant}`, gsiCreated: 'x' })).toString('base64url');
    const bad = [
      ['a tampered first byte', flip(0)],
      ['a tampered middle byte', flip(Math.floor(cursor.length / 2))],
      ['a tampered last byte', flip(cursor.length - 1)],
      ['truncated', cursor.slice(0, -4)],
      ['garbage', 'garbage'],
      ['non-base64', '***.%%%'],
      ['empty', ''],
      ["DynamoDB's key, unsigned (the old form)", forged],
      ['overlong', 'A'.repeat(5000)],
    ] as const;
    for (const [what, c] of bad) {
      expectCursorRefused(await page(cast.dispatcher, `limit=1&cursor=${encodeURIComponent(c)}`), what);
    }
  });

  it('pages through with the issued cursors: every order exactly once, no page over its limit, filters kept', async () => {
    const mine = await orders(7);
    const theirs = await orders(3, cast, 'retailer-b');
    // Four of seven picked up (newest first: 6, 5, [4], [3], [2], [1], 0), so a
    // filtered page of 3 reads one match from the first index page and three from the second.
    const picked = mine.slice(1, 5);
    await withSocket(cast.dispatcher, async (d) => {
      for (const id of picked) expect(await d.request(checkpoint(id, 'picked_up'))).toMatchObject({ type: 'ack' });
    });
    for (const [token, query, expected] of [
      [cast.dispatcher, '', [...mine, ...theirs]],
      [cast.dispatcher, '&retailerId=retailer-a&status=created', mine.filter((id) => !picked.includes(id))],
      [cast.dispatcher, '&retailerId=retailer-a&status=picked_up', picked],
      [cast.retailer, '', mine],
    ] as const) {
      for (const limit of [1, 3, 4]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; ; pages++) {
          expect(pages).toBeLessThan(30);
          const res = await page(token, `limit=${limit}${query}${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
          expect(res.status).toBe(200);
          expect(res.body.orders.length).toBeLessThanOrEqual(limit);
          seen.push(...res.body.orders.map((o) => o.orderId));
          cursor = res.body.cursor;
          if (cursor === undefined) break;
        }
        expect(seen.length, `${query} limit ${limit}`).toBe(new Set(seen).size);
        expect([...seen].sort(), `${query} limit ${limit}`).toEqual([...expected].sort());
      }
    }
  });
});

describe('GET /api/orders/{id}/timeline', () => {
  /** An order with seven events: created, assigned, picked_up, message, at_hub (with an awkward note), message, out_for_delivery. */
  async function busyOrder(note: string) {
    const orderId = await orderFor(url, cast);
    await withSocket(cast.driver, async (d) => {
      const frames = [
        checkpoint(orderId, 'picked_up', { location: { lat: 51.5, lng: -0.1, accuracyM: 5 } }),
        { action: 'message', messageId: uniqueId('msg'), orderId, text: 'On my way, 10 min' },
        checkpoint(orderId, 'at_hub', { note }),
        { action: 'message', messageId: uniqueId('msg'), orderId, text: 'Sorted' },
        checkpoint(orderId, 'out_for_delivery'),
      ];
      for (const f of frames) expect(await d.request(f)).toMatchObject({ type: 'ack' });
    });
    return orderId;
  }

  it('returns the events in seq order with headSeq, from sinceSeq, at most limit', async () => {
    const orderId = await busyOrder('plain');
    const get = (q: string) => http<{ items: TimelineItem[]; headSeq: number }>(url, 'GET', path(orderId, `/timeline${q}`), { token: cast.retailer });
    const all = await get('');
    expect(all.status).toBe(200);
    expect(all.body.headSeq).toBe(7);
    expect(all.body.items.map((i) => i.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(all.body.items.map((i) => i.kind)).toEqual(['created', 'assigned', 'checkpoint', 'message', 'checkpoint', 'message', 'checkpoint']);
    for (const item of all.body.items) {
      expect(item.orderId).toBe(orderId);
      expect(item.at).toMatch(isoTime);
      expect(typeof item.actor.sub).toBe('string');
      expect(typeof item.actor.role).toBe('string');
    }
    expect(all.body.items[2]).toMatchObject({ status: 'picked_up', location: { lat: 51.5, lng: -0.1, accuracyM: 5 }, actor: { sub: 'driver-1', role: 'driver' } });
    expect(all.body.items[3]).toMatchObject({ kind: 'message', text: 'On my way, 10 min' });

    const page = await get('?sinceSeq=2&limit=2');
    expect(page.body.headSeq).toBe(7);
    expect(page.body.items.map((i) => i.seq)).toEqual([3, 4]);
    expect((await get('?sinceSeq=5')).body.items.map((i) => i.seq)).toEqual([6, 7]);
    expect((await get('?limit=1')).body.items.map((i) => i.seq)).toEqual([1]);
    const none = await get('?sinceSeq=7');
    expect(none.body).toEqual({ items: [], headSeq: 7 });
    expect((await get('?sinceSeq=99')).body).toEqual({ items: [], headSeq: 7 });
  });

  it('exports the timeline as CSV: a header row, one row per event, seq ascending', async () => {
    const note = 'Left at "Hub 3", bay 4\nsee photo';
    const orderId = await busyOrder(note);
    const res = await http(url, 'GET', path(orderId, '/timeline.csv'), { token: cast.dispatcher });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = parseCsv(res.text);
    const [header, ...body] = rows;
    expect(header).toBeDefined();
    const col = (name: string) => header!.indexOf(name);
    expect(col('seq')).toBeGreaterThanOrEqual(0);
    expect(col('kind')).toBeGreaterThanOrEqual(0);
    expect(body).toHaveLength(7);
    expect(body.every((r) => r.length === header!.length)).toBe(true);
    expect(body.map((r) => Number(r[col('seq')]))).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(body.map((r) => r[col('kind')])).toEqual(['created', 'assigned', 'checkpoint', 'message', 'checkpoint', 'message', 'checkpoint']);
    // A note with quotes, a comma and a newline survives as one cell.
    expect(body[4]!.some((cell) => cell === note)).toBe(true);
  });

  it('cuts a long CSV (and JSON page) under 5 MiB, CSV with Link rel="next"; following the links yields every row once, in order', async () => {
    const orderId = await orderFor(url, cast);
    // 4,000 quotes a message: each row costs about 16 KB in a Lambda response (doubled in CSV, escaped in JSON).
    const text = '"'.repeat(4000);
    const sockets = await Promise.all([0, 1, 2, 3].map(() => WsClient.connect(url, cast.dispatcher)));
    try {
      await Promise.all(
        sockets.map(async (d) => {
          for (let i = 0; i < 85; i++) expect(await d.request({ action: 'message', messageId: uniqueId('m'), orderId, text })).toMatchObject({ type: 'ack' });
        }),
      );
    } finally {
      await Promise.all(sockets.map((d) => d.close()));
    }
    const headSeq = 2 + 4 * 85;
    const seqs: number[] = [];
    const links: string[] = [];
    let next: string | undefined = path(orderId, '/timeline.csv');
    while (next !== undefined) {
      const res: HttpResult = await http(url, 'GET', next, { token: cast.retailer });
      expect(res.status, next).toBe(200);
      // What the part costs in a Lambda response: the body as a JSON string.
      expect(Buffer.byteLength(JSON.stringify(res.text))).toBeLessThanOrEqual(5 * 1024 * 1024);
      const [header, ...rows] = parseCsv(res.text);
      expect(header).toContain('seq');
      seqs.push(...rows.map((r) => Number(r[header!.indexOf('seq')])));
      expect(rows.filter((r) => r[header!.indexOf('kind')] === 'message').every((r) => r[header!.indexOf('text')] === text)).toBe(true);
      const link: string | null = res.headers.get('link');
      next = link === null ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
      if (link !== null) {
        expect(next, link).toBeDefined();
        links.push(next!);
      }
      expect(links.length).toBeLessThan(5);
    }
    expect(links).toHaveLength(1);
    expect(links[0]).toMatch(new RegExp(`^${path(orderId, '/timeline.csv').replace(/[.?]/g, '\\$&')}\\?sinceSeq=\\d+$`));
    expect(seqs).toEqual(Array.from({ length: headSeq }, (_, i) => i + 1));
    // sinceSeq on its own: the rows after it.
    const tail = await http(url, 'GET', path(orderId, `/timeline.csv?sinceSeq=${headSeq - 2}`), { token: cast.retailer });
    expect(parseCsv(tail.text).slice(1).map((r) => Number(r[0]))).toEqual([headSeq - 1, headSeq]);
    expect(tail.headers.get('link')).toBeNull();
    const bad = await http<ApiError>(url, 'GET', path(orderId, '/timeline.csv?sinceSeq=-1'), { token: cast.retailer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('sinceSeq');

    // The JSON timeline is held to the same budget: a page of 500 comes back short, and paging on from its last seq loses nothing.
    const json: number[] = [];
    for (let since = 0, pages = 0; since < headSeq; pages++) {
      expect(pages).toBeLessThan(5);
      const res = await http<{ items: TimelineItem[]; headSeq: number }>(url, 'GET', path(orderId, `/timeline?sinceSeq=${since}&limit=500`), { token: cast.retailer });
      expect(res.status).toBe(200);
      expect(res.body.headSeq).toBe(headSeq);
      expect(Buffer.byteLength(JSON.stringify(res.text))).toBeLessThanOrEqual(5 * 1024 * 1024);
      if (since === 0) expect(res.body.items.length).toBeLessThan(headSeq);
      json.push(...res.body.items.map((i) => i.seq));
      since = res.body.items.at(-1)!.seq;
    }
    expect(json).toEqual(seqs);
  });

  it('answers an unknown order with 404 NOT_FOUND', async () => {
    const id = uniqueId('none');
    for (const p of [path(id), path(id, '/timeline'), path(id, '/timeline.csv')]) {
      const res = await http<ApiError>(url, 'GET', p, { token: cast.dispatcher });
      expect(res.status, p).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
    }
  });
});

describe('limit is an integer in [1, 500] (CONTRACT §4)', () => {
  it('takes 500 on lists and timelines, and answers 501, 0 and abc with 400 VALIDATION a person can read', async () => {
    const orderId = uniqueId('ord');
    expect((await create(cast.dispatcher, orderBody(orderId))).status).toBe(201);
    for (const base of ['/api/orders?', `${path(orderId, '/timeline')}?`]) {
      expect((await http(url, 'GET', `${base}limit=500`, { token: cast.dispatcher })).status).toBe(200);
      for (const bad of ['501', '0', 'abc']) {
        const res = await http<ApiError>(url, 'GET', `${base}limit=${bad}`, { token: cast.dispatcher });
        expect(res.status, `${base}limit=${bad}`).toBe(400);
        expect(res.body.error.code).toBe('VALIDATION');
        expect(res.body.error.message).toContain('"limit" must be an integer from 1 to 500');
      }
    }
  });
});

describe('malformed URLs are a 4xx, never a 5xx (CONTRACT §4)', () => {
  const long = 'x'.repeat(3000);

  it.each([
    ['GET', `/api/orders/${long}`, 'id'],
    ['GET', `/api/orders/${long}/timeline`, 'id'],
    ['GET', `/api/orders/${long}/timeline.csv`, 'id'],
    ['POST', `/api/orders/${long}/assign`, 'id'],
    ['POST', `/api/alerts/${long}/ack`, 'alertId'],
    ['GET', `/api/orders/${'y'.repeat(129)}`, 'id'],
  ])('%s %s… is 400 VALIDATION naming the path parameter', async (method, target, field) => {
    const res = await http<ApiError>(url, method, target, { token: cast.dispatcher, ...(method === 'POST' && { body: { driverId: 'driver-1' } }) });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION');
    expect((res.body.error.details as { issues: { field: string }[] }).issues[0]!.field).toBe(field);
  });

  it('answers bad percent-encoding with 404 (console, API) or 400 (@connections)', async () => {
    expect((await http(url, 'GET', '/%E0')).status).toBe(404);
    expect((await http(url, 'GET', '/api/orders/%E0', { token: cast.dispatcher })).status).toBe(404);
    expect((await signedFetch(url, runtimeCredentials(), 'DELETE', '/@connections/%E0')).status).toBe(400);
  });

  it('answers a query value or name with bad percent-encoding 400 VALIDATION, naming it, not as a literal value', async () => {
    for (const [query, field] of [
      ['retailerId=%zz', 'retailerId'],
      ['status=created&retailerId=%E0', 'retailerId'],
      ['sinceSeq=%', 'sinceSeq'],
    ] as const) {
      const res = await http<{ error: { code: string; details: { issues: { field: string }[] } } }>(url, 'GET', `/api/orders?${query}`, { token: cast.dispatcher });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION', details: { issues: [{ field }] } });
    }
    // Well-formed encodings stay values: a "+" is a space, %25 a percent sign.
    expect((await http(url, 'GET', '/api/orders?retailerId=a%25b+c', { token: cast.dispatcher })).status).toBe(200);
  });
});

describe('GET /api/health', () => {
  it('answers 200 {ok:true} without a token', async () => {
    const res = await http(url, 'GET', '/api/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true });
  });
});

