/**
 * A driver posts a checkpoint (and a message) in one page; the retailer's
 * open order page shows both without a reload, and the driver sees the
 * retailer's read mark.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueTenant, WsClient, type Cast } from '../support/client';
import { connection, launch, screenshots, signIn, until, type Browser } from './browser';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
let browser: Browser;
let cast: Cast;

beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('web'));
  browser = await launch();
});
afterEach(async () => {
  await browser.close();
});

describe('console: live checkpoints', () => {
  it("a driver's checkpoint shows on the retailer's open order page without reload", async () => {
    const orderId = await orderFor(url, cast);

    const retailer = await browser.page();
    await retailer.goto(url);
    await retailer.getByRole('heading', { name: 'Sign in to Waypost' }).waitFor();
    await screenshots(retailer, 'sign-in');
    await signIn(retailer, url, cast.retailer);
    await until(retailer.locator(`[data-order="${orderId}"]`), orderId);
    await screenshots(retailer, 'retailer-orders');
    await retailer.getByRole('link', { name: orderId }).click();
    await until(retailer.locator('.timeline'), 'Assigned to');
    // Marks the document: a reload would lose it.
    await retailer.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    const driver = await browser.page();
    await signIn(driver, url, cast.driver);
    await until(driver.locator(`[data-order="${orderId}"]`), orderId);
    await screenshots(driver, 'driver-deliveries');
    await driver.getByRole('link', { name: orderId }).click();
    await driver.getByLabel('New status').selectOption('picked_up');
    await driver.getByLabel('Note (optional)').fill('Collected from the back door');
    await driver.getByRole('button', { name: 'Post checkpoint' }).click();
    await until(driver.getByTestId('checkpoint-result'), /Picked up recorded/);

    // The retailer's page, untouched, now shows it: timeline, stepper, head, trail.
    const entry = retailer.locator('.timeline li[data-status="picked_up"]');
    await until(entry, 'Collected from the back door');
    expect(await entry.textContent()).toContain('driver-1 (driver)');
    expect(await entry.textContent()).toMatch(/Place51\.50300, -0\.11500 \(±12 m\)/);
    await until(retailer.locator('.stepper [aria-current="step"]'), 'Picked up');
    await until(retailer.locator('.order-info .badge'), 'Picked up');
    await until(retailer.locator('.trail-figure figcaption'), '1 checkpoint position');

    // A message from the driver arrives too, and the retailer's read mark goes back to the driver.
    await driver.getByRole('textbox', { name: 'Message' }).fill('On my way, ten minutes');
    await driver.getByRole('button', { name: 'Send' }).click();
    await until(retailer.locator('.messages .msg'), 'On my way, ten minutes');
    await until(driver.locator('.messages .msg.mine'), 'Read by retailer-user-1');

    expect(await retailer.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await connection(retailer).textContent()).toContain('Live');
    await screenshots(retailer, 'retailer-order');
    await screenshots(driver, 'driver-order');

    // The retailer exports the timeline as CSV (fetched with the token, saved as a blob).
    const download = retailer.waitForEvent('download');
    await retailer.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toBe(`${orderId}-timeline.csv`);

    const timeline = await http<{ items: { kind: string; status?: string }[] }>(url, 'GET', `/api/orders/${orderId}/timeline`, { token: cast.dispatcher });
    expect(timeline.body.items.filter((e) => e.kind === 'checkpoint').map((e) => e.status)).toEqual(['picked_up']);

    // A queued checkpoint from before the newest status arrives late (CONTRACT §3): shown as late, status unchanged.
    const phone = await WsClient.connect(url, cast.driver);
    try {
      const now = Date.now();
      expect(await phone.request(checkpoint(orderId, 'at_hub', { occurredAt: new Date(now).toISOString() }))).toMatchObject({ type: 'ack', applied: true });
      expect(await phone.request(checkpoint(orderId, 'in_transit', { occurredAt: new Date(now - 60_000).toISOString() }))).toMatchObject({
        type: 'ack',
        status: 'at_hub',
        applied: false,
      });
    } finally {
      await phone.close();
    }
    const lateEntry = retailer.locator('.timeline li[data-status="in_transit"]');
    await until(lateEntry, /late/);
    expect(await lateEntry.getAttribute('data-late')).toBe('true');
    expect(await lateEntry.locator('.late-badge').textContent()).toContain('late');
    expect(await lateEntry.textContent()).toContain('Arrived late; did not change the status (the order was already at hub).');
    await until(retailer.locator('.order-info .badge'), 'At hub');
    expect(await retailer.locator('.timeline li[data-status="at_hub"]').getAttribute('data-late')).toBeNull();
    await screenshots(retailer, 'retailer-order-late');
  });
});
