/**
 * A dispatcher acknowledges an SLA alert from the board: the order appears
 * live, stalls within a sweep or two (a one-second limit on `created`), shows
 * its alert with its level; Acknowledge stops it. Assigning a driver from the
 * board is checked on the way, and that a delivered or cancelled order offers
 * no assignment.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, checkpoint, http, orderFor, uniqueId, uniqueTenant, WsClient, type Cast } from '../support/client';
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

interface Alert {
  alertId: string;
  orderId: string;
  state: string;
  level: number;
  acknowledgedBy?: string;
}

describe('console: dispatcher board', () => {
  it('shows a stalled order and its alert live, and acknowledges it', async () => {
    const policy = await http(url, 'PUT', '/api/sla-policy', {
      token: cast.dispatcher,
      body: { dwellSeconds: { created: 1 }, escalation: [{ afterSeconds: 0, notify: 'dispatch' }] },
    });
    expect(policy.status).toBe(200);

    const page = await browser.page();
    await signIn(page, url, cast.dispatcher);
    await until(page.locator('.alerts-panel'), 'No open alerts.');

    const orderId = uniqueId('ord');
    const created = await http(url, 'POST', '/api/orders', {
      token: cast.retailer,
      body: { orderId, retailerId: 'retailer-a', recipient: { name: 'Grace', phone: '+15550100777' }, destination: { address: '9 Board Road', lat: 51.5, lng: -0.12 } },
    });
    expect(created.status).toBe(201);

    // Live: the card appears without a reload, then its alert (level 1 of 1) and the stalled flag.
    const card = page.locator(`.card[data-order="${orderId}"]`);
    await until(card, orderId);
    const alert = page.locator(`.alert-list li[data-order="${orderId}"]`);
    await until(alert, 'Level 1 of 1');
    await until(card, 'Stalled: SLA alert open');
    expect(await card.getAttribute('class')).toContain('stalled');
    expect(await page.locator('.alerts-panel h2').textContent()).toContain('Open alerts (1)');

    // Assign a driver from the card.
    await card.getByText('Assign a driver').click();
    await card.getByLabel('Driver id').fill('driver-2');
    await card.getByRole('button', { name: 'Assign' }).click();
    await until(page.locator(`.card[data-order="${orderId}"] .card-meta`), 'Driver driver-2');
    const order = await http<{ order: { driverId?: string } }>(url, 'GET', `/api/orders/${orderId}`, { token: cast.dispatcher });
    expect(order.body.order.driverId).toBe('driver-2');

    await screenshots(page, 'dispatcher-board');

    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await until(page.locator('.alerts-panel'), 'No open alerts.');
    const acked = await http<{ alerts: Alert[] }>(url, 'GET', '/api/alerts?state=acknowledged', { token: cast.dispatcher });
    expect(acked.body.alerts.filter((a) => a.orderId === orderId)).toMatchObject([{ state: 'acknowledged', level: 1, acknowledgedBy: 'dispatcher-1' }]);
    const open = await http<{ alerts: Alert[] }>(url, 'GET', '/api/alerts?state=open', { token: cast.dispatcher });
    expect(open.body.alerts).toEqual([]);

    // Acknowledged, not resolved: the order is still stalled in `created` until it moves.
    await until(card, 'Stalled');
    await page.getByLabel('Stalled only').check();
    await until(page.locator('.summary'), 'showing 1');
  });

  it('offers no driver assignment on an order once it is delivered or cancelled (the server would answer 409)', async () => {
    const delivering = await orderFor(url, cast);
    const cancelling = await orderFor(url, cast);
    const page = await browser.page();
    await signIn(page, url, cast.dispatcher);
    await page.getByLabel('Show delivered and closed').check();
    const card = (orderId: string) => page.locator(`.card[data-order="${orderId}"]`);
    for (const orderId of [delivering, cancelling]) {
      await until(card(orderId), orderId);
      await until(card(orderId).locator('details.assign summary'), 'Change driver');
    }

    const driver = await WsClient.connect(url, cast.driver);
    const dispatcher = await WsClient.connect(url, cast.dispatcher);
    try {
      for (const status of ['picked_up', 'out_for_delivery']) expect(await driver.request(checkpoint(delivering, status))).toMatchObject({ type: 'ack' });
      expect(await driver.request(checkpoint(delivering, 'delivered', { proof: { recipientType: 'self' } }))).toMatchObject({ type: 'ack' });
      expect(await dispatcher.request(checkpoint(cancelling, 'cancelled'))).toMatchObject({ type: 'ack' });
    } finally {
      await driver.close();
      await dispatcher.close();
    }

    // Live: each card is redrawn for its new status, without the assign control.
    for (const [orderId, status] of [
      [delivering, 'delivered'],
      [cancelling, 'cancelled'],
    ] as const) {
      await page.locator(`.card[data-order="${orderId}"][data-status="${status}"]`).waitFor();
      expect(await card(orderId).locator('details.assign').count(), status).toBe(0);
      expect(await card(orderId).getByLabel('Driver id').count(), status).toBe(0);
    }
    // After a reload too (the board built from GET /api/orders).
    await page.reload();
    await until(connection(page), 'Live');
    await page.getByLabel('Show delivered and closed').check();
    for (const orderId of [delivering, cancelling]) {
      await until(card(orderId), orderId);
      expect(await card(orderId).locator('details.assign').count()).toBe(0);
    }
  });
});
