/**
 * CONTRACT §2 over real sockets: rights are checked on every push, not only
 * on subscribe. A driver reassigned away gets one `revoked` and nothing more
 * of the order's room; a connection lives no longer than its token (pushes
 * stop at `exp`, then the socket closes with 4001) unless it renews with the
 * `auth` action, which only the same identity may do.
 */
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { signLocalToken, type TokenRequest } from '../../shared/runtime/auth';
import { castOf, checkpoint, http, orderFor, socketPool, uniqueId, uniqueTenant, type Cast, type Frame, type WsClient } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let cast: Cast;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('rights'));
});

/** A token of this test's tenant living `ttlSeconds`, with its `exp` in epoch ms. */
async function tokenFor(req: Omit<TokenRequest, 'tenant'> & { tenant?: string }, ttlSeconds: number): Promise<{ token: string; expMs: number }> {
  const token = await signLocalToken(secret, { tenant: cast.tenant, ...req, ttlSeconds });
  const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
  return { token, expMs: exp * 1000 };
}

const driver1 = { role: 'driver', sub: 'driver-1' } as const;

/** Resolves with the close code and the time the socket closed. */
function closing(c: WsClient): Promise<{ code: number; at: number }> {
  return c.closed.then((code) => ({ code, at: Date.now() }));
}

describe('a driver reassigned away', () => {
  it('gets exactly one revoked for the order and none of what follows, while the new driver, the retailer and the dispatcher get it all', async () => {
    const orderId = await orderFor(url, cast);
    const room = `order:${orderId}`;
    const driverA = await connect(cast.driver);
    const retailer = await connect(cast.retailer);
    const dispatcher = await connect(cast.dispatcher);
    for (const c of [driverA, retailer, dispatcher]) {
      expect(await c.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack', room, headSeq: 2 });
    }

    const reassign = await http(url, 'POST', `/api/orders/${encodeURIComponent(orderId)}/assign`, { token: cast.dispatcher, body: { driverId: 'driver-2' } });
    expect(reassign.status).toBe(200);
    const revoked = await driverA.next((f) => f.type === 'revoked');
    expect(revoked).toEqual({ type: 'revoked', room, reason: 'unassigned' });

    const driverB = await connect(cast.otherDriver);
    expect(await driverB.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack', headSeq: 3 });
    const message = await retailer.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: 'Ring twice, please' });
    expect(message).toMatchObject({ type: 'ack', seq: 4 });
    const moved = await driverB.request(checkpoint(orderId, 'picked_up', { location: { lat: 51.5072, lng: -0.1276, accuracyM: 8 } }));
    expect(moved).toMatchObject({ type: 'ack', seq: 5 });

    for (const c of [driverB, retailer, dispatcher]) {
      await c.waitForEvent(room, (e) => e.seq === 5);
      expect(c.events(room).filter((e) => (e.seq as number) >= 4).map((e) => e.seq)).toEqual([4, 5]);
    }
    expect(driverB.events(room).find((e) => e.seq === 5)).toMatchObject({ kind: 'checkpoint', location: { lat: 51.5072, lng: -0.1276 } });
    await sleep(500);

    expect(driverA.frames.filter((f) => f.type === 'revoked')).toHaveLength(1);
    expect(driverA.events(room).filter((e) => (e.seq as number) > 3)).toEqual([]);
    // Nothing of the room came after the revoked push.
    const after = driverA.frames.slice(driverA.frames.indexOf(revoked) + 1);
    expect(after.filter((f) => f.room === room)).toEqual([]);
    expect(JSON.stringify(driverA.frames)).not.toContain('51.5072');
    // The membership is gone for good: subscribing again is refused, and the socket stays open.
    expect(await driverA.request({ action: 'subscribe', room })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect(driverA.isOpen).toBe(true);
  });
});

describe('a connection lives no longer than its token', () => {
  it('gets no push from exp on, and is closed with 4001 at exp', async () => {
    const orderId = await orderFor(url, cast);
    const room = `order:${orderId}`;
    const { token, expMs } = await tokenFor({ role: 'retailer', sub: 'retailer-user-1', retailerId: 'retailer-a' }, 2);
    const watcher = await connect(token);
    const closed = closing(watcher);
    expect(await watcher.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack' });

    // The dispatcher talks across the expiry, every 100 ms.
    const dispatcher = await connect(cast.dispatcher);
    let talking = true;
    const talk = (async () => {
      for (let i = 0; talking; i++) {
        await dispatcher.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: `update ${i}` });
        await sleep(100);
      }
    })();
    const { code, at } = await closed;
    await sleep(500);
    talking = false;
    await talk;

    expect(code).toBe(4001);
    expect(at).toBeGreaterThanOrEqual(expMs - 20);
    expect(at).toBeLessThan(expMs + 1500);
    const heard = watcher.events(room);
    expect(heard.length).toBeGreaterThan(0);
    // Everything it heard was stored before its token expired; nothing stored after reached it.
    for (const e of heard) expect(Date.parse(e.at as string)).toBeLessThan(expMs);
    const stored = await http<{ items: Frame[] }>(url, 'GET', `/api/orders/${encodeURIComponent(orderId)}/timeline`, { token: cast.dispatcher });
    expect(stored.body.items.some((e) => Date.parse(e.at as string) > expMs)).toBe(true);
  });

  it('stays open and keeps receiving past the old exp after auth with a fresh token of the same identity', async () => {
    const orderId = await orderFor(url, cast);
    const room = `order:${orderId}`;
    const first = await tokenFor(driver1, 2);
    const driver = await connect(first.token);
    expect(await driver.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack' });

    const fresh = await tokenFor(driver1, 60);
    expect(await driver.request({ action: 'auth', token: fresh.token, reqId: 'renew-fresh' })).toEqual({ type: 'ack', reqId: 'renew-fresh', exp: fresh.expMs / 1000 });

    await sleep(first.expMs + 1000 - Date.now());
    expect(driver.isOpen).toBe(true);
    const dispatcher = await connect(cast.dispatcher);
    const message = await dispatcher.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: 'still with us?' });
    await driver.waitForEvent(room, (e) => e.seq === message.seq);
    expect(await driver.request(checkpoint(orderId, 'picked_up'))).toMatchObject({ type: 'ack', seq: (message.seq as number) + 1 });
    expect(driver.isOpen).toBe(true);
  });

  it('moves the expiry sooner too: after auth with a token that expires first, pushes stop and the socket closes with 4001 at the new exp', async () => {
    const orderId = await orderFor(url, cast);
    const room = `order:${orderId}`;
    const first = await tokenFor(driver1, 60);
    const driver = await connect(first.token);
    expect(await driver.request({ action: 'subscribe', room })).toMatchObject({ type: 'ack' });
    const sooner = await tokenFor(driver1, 2);
    expect(await driver.request({ action: 'auth', token: sooner.token, reqId: 'renew-sooner' })).toEqual({ type: 'ack', reqId: 'renew-sooner', exp: sooner.expMs / 1000 });

    const code = await driver.closed;
    const closedAt = Date.now();
    expect(code).toBe(4001);
    expect(closedAt).toBeGreaterThanOrEqual(sooner.expMs - 20);
    expect(closedAt).toBeLessThan(sooner.expMs + 1500);
    // Nothing stored after the new exp reached it.
    const dispatcher = await connect(cast.dispatcher);
    const message = await dispatcher.request({ action: 'message', messageId: uniqueId('msg'), orderId, text: 'after exp' });
    await sleep(300);
    expect(driver.events(room).map((e) => e.seq)).not.toContain(message.seq);
  });

  it('refuses auth for another identity with FORBIDDEN and changes nothing: the socket still closes at the old exp', async () => {
    const first = await tokenFor(driver1, 2);
    const driver = await connect(first.token);
    const closed = closing(driver);
    const others = [
      await tokenFor({ role: 'driver', sub: 'driver-2' }, 60),
      await tokenFor({ role: 'dispatcher', sub: 'driver-1' }, 60),
      await tokenFor({ ...driver1, tenant: uniqueTenant('elsewhere') }, 60),
    ];
    for (const other of others) {
      const reply = await driver.request({ action: 'auth', token: other.token });
      expect(reply).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
      expect(reply).not.toHaveProperty('exp');
    }
    expect(driver.isOpen).toBe(true);
    const { code, at } = await closed;
    expect(code).toBe(4001);
    expect(at).toBeGreaterThanOrEqual(first.expMs - 20);
    expect(at).toBeLessThan(first.expMs + 1500);
  });

  it("refuses auth for a retailer of another retailerId with FORBIDDEN", async () => {
    const retailer = await connect(cast.retailer);
    const other = await tokenFor({ role: 'retailer', sub: 'retailer-user-1', retailerId: 'retailer-b' }, 60);
    expect(await retailer.request({ action: 'auth', token: other.token })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    const same = await tokenFor({ role: 'retailer', sub: 'retailer-user-1', retailerId: 'retailer-a' }, 120);
    expect(await retailer.request({ action: 'auth', token: same.token })).toMatchObject({ type: 'ack', exp: same.expMs / 1000 });
  });

  it('refuses a forged, an expired or a garbage token with UNAUTHORIZED, and the socket stays open', async () => {
    const first = await tokenFor(driver1, 60);
    const driver = await connect(first.token);
    const forged = await signLocalToken('not-the-secret', { tenant: cast.tenant, ...driver1, ttlSeconds: 3600 });
    const expired = await tokenFor(driver1, -60);
    for (const token of [forged, expired.token, 'not-a-jwt']) {
      const reply = await driver.request({ action: 'auth', token });
      expect(reply).toMatchObject({ type: 'error', code: 'UNAUTHORIZED' });
      expect(JSON.stringify(reply)).not.toContain(token);
    }
    expect(await driver.request({ action: 'auth', token: '' })).toMatchObject({ type: 'error', code: 'VALIDATION' });
    expect(driver.isOpen).toBe(true);
    expect(await driver.request({ action: 'ping' })).toMatchObject({ type: 'ack' });
  });
});
