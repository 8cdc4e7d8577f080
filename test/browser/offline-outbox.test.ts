/**
 * The driver page while offline: posts wait in the outbox (kept in
 * localStorage per tenant and user) with "Offline, N waiting" in view, and
 * go out once each, in order, when the connection is back.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { castOf, http, orderFor, uniqueTenant, type Cast } from '../support/client';
import { runtimeCredentials, signedFetch } from '../support/management';
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
  await browser.context.setOffline(false).catch(() => undefined);
  await browser.close();
});

interface Item {
  seq: number;
  kind: string;
  status?: string;
  note?: string;
  text?: string;
  eventId?: string;
  messageId?: string;
}

describe('console: driver offline', () => {
  it('queues checkpoints and messages while offline and sends each once on reconnect', async () => {
    const orderId = await orderFor(url, cast);
    const page = await browser.page();
    await signIn(page, url, cast.driver, `/#/orders/${encodeURIComponent(orderId)}`);
    await until(page.locator('.timeline'), 'Assigned to');

    await browser.context.setOffline(true);
    await until(connection(page), /^.?Offline$/);

    await page.getByLabel('New status').selectOption('picked_up');
    await page.getByLabel('Note (optional)').fill('queued one');
    await page.getByRole('button', { name: 'Post checkpoint' }).click();
    await until(page.getByTestId('checkpoint-result'), 'Saved offline');
    await until(connection(page), 'Offline, 1 waiting');

    await page.getByRole('textbox', { name: 'Message' }).fill('No signal here, will sync later');
    await page.getByRole('button', { name: 'Send' }).click();
    await until(connection(page), 'Offline, 2 waiting');

    // The form starts from the queued status: out for delivery is allowed after picked up.
    await page.getByLabel('New status').selectOption('out_for_delivery');
    await page.getByRole('button', { name: 'Post checkpoint' }).click();
    await until(connection(page), 'Offline, 3 waiting');
    await until(page.locator('.queued-note'), '3 waiting to send: Picked up, a message, Out for delivery');
    await until(page.locator('.msg.pending'), 'Waiting to send');

    const stored = await page.evaluate((key) => localStorage.getItem(key), `waypost.outbox.${cast.tenant}.driver-1`);
    expect((JSON.parse(stored ?? '[]') as unknown[]).length).toBe(3);
    // Nothing reached the server yet.
    const before = await http<{ items: Item[] }>(url, 'GET', `/api/orders/${orderId}/timeline`, { token: cast.dispatcher });
    expect(before.body.items.filter((e) => e.kind === 'checkpoint' || e.kind === 'message')).toEqual([]);
    await screenshots(page, 'driver-offline');

    await browser.context.setOffline(false);
    await until(connection(page), /^.?Live$/);
    await until(page.locator('.timeline li[data-status="out_for_delivery"]'), 'Out for delivery');
    expect(await page.evaluate((key) => localStorage.getItem(key), `waypost.outbox.${cast.tenant}.driver-1`)).toBe('[]');

    const after = await http<{ items: Item[] }>(url, 'GET', `/api/orders/${orderId}/timeline`, { token: cast.dispatcher });
    const posts = after.body.items.filter((e) => e.kind === 'checkpoint' || e.kind === 'message');
    expect(posts.map((e) => [e.kind, e.status ?? e.text])).toEqual([
      ['checkpoint', 'picked_up'],
      ['message', 'No signal here, will sync later'],
      ['checkpoint', 'out_for_delivery'],
    ]);
    expect(posts[0]!.note).toBe('queued one');
    const ids = posts.map((e) => e.eventId ?? e.messageId);
    expect(new Set(ids).size).toBe(3);
    await screenshots(page, 'driver-back-online');

    // The socket killed from the server side (as API Gateway may): the page reconnects by itself.
    const conns = await http<{ connectionId: string; userAgent: string }[]>(url, 'GET', '/_local/connections');
    const mine = conns.body.filter((c) => c.userAgent === browser.userAgent);
    expect(mine).toHaveLength(1);
    const killed = await signedFetch(url, runtimeCredentials(), 'DELETE', `/@connections/${encodeURIComponent(mine[0]!.connectionId)}`);
    expect(killed.status).toBe(204);
    await expect
      .poll(async () => (await http<{ connectionId: string; userAgent: string }[]>(url, 'GET', '/_local/connections')).body.filter((c) => c.userAgent === browser.userAgent).map((c) => c.connectionId), { timeout: 10_000 })
      // One connection, a new one (ids are base64: compared as strings, never as a pattern).
      .toSatisfy((ids: string[]) => ids.length === 1 && ids[0] !== mine[0]!.connectionId);
    await until(connection(page), /^.?Live$/);
    await page.getByLabel('New status').selectOption('delivered');
    await page.getByLabel('Handed to').selectOption('neighbor');
    await page.getByLabel('Name of who took it (optional)').fill('Mr Wu');
    await page.getByRole('button', { name: 'Post checkpoint' }).click();
    await until(page.getByTestId('checkpoint-result'), 'Delivered recorded');
    await until(page.locator('.timeline li[data-status="delivered"]'), 'Handed to a neighbour (Mr Wu)');
  });
});
