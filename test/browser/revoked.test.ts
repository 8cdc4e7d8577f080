/**
 * A driver has an order open when the dispatcher reassigns it: the page says
 * the driver no longer has access, keeps what it showed, and offers nothing
 * more to post.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, http, orderFor, uniqueTenant, type Cast } from '../support/client';
import { launch, signIn, until, type Browser } from './browser';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
let browser: Browser;
let cast: Cast;

beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('web-revoked'));
  browser = await launch();
});
afterEach(async () => {
  await browser.close();
});

describe('console: access revoked', () => {
  it('tells a driver reassigned away from the open order that they no longer have access', async () => {
    const orderId = await orderFor(url, cast);
    const driver = await browser.page();
    await signIn(driver, url, cast.driver);
    await until(driver.locator(`[data-order="${orderId}"]`), orderId);
    await driver.getByRole('link', { name: orderId }).click();
    await until(driver.locator('.timeline'), 'Assigned to');
    await driver.getByRole('button', { name: 'Post checkpoint' }).waitFor();

    const reassign = await http(url, 'POST', `/api/orders/${encodeURIComponent(orderId)}/assign`, { token: cast.dispatcher, body: { driverId: 'driver-2' } });
    expect(reassign.status).toBe(200);

    await until(driver.getByRole('alert'), 'You no longer have access to this order');
    expect(await driver.getByRole('button', { name: 'Post checkpoint' }).isVisible()).toBe(false);
    expect(await driver.getByRole('button', { name: 'Send' }).isVisible()).toBe(false);
    // What it showed stays.
    expect(await driver.locator('.timeline').textContent()).toContain('Assigned to');
  });
});
