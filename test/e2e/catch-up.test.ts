/**
 * Long catch-ups (CONTRACT §5): a subscribe with sinceSeq carries at most 500
 * events and `more: true` when cut; the rest is paged over HTTP, and the SDK
 * does that by itself. Also the HTTP body limit (413).
 */
import WebSocket from 'ws';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { OrderEvent } from '../../shared/domain/model';
import { WaypostClient } from '../../web/sdk/client';
import { nodeWebSocket } from '../../web/sdk/socket';
import { castOf, http, orderFor, socketPool, uniqueTenant, type Cast, type Frame } from '../support/client';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const connect = socketPool(url);
let cast: Cast;
let orderId: string;
const TOTAL = 503;

beforeAll(async () => {
  cast = await castOf(secret, uniqueTenant('long'));
  orderId = await orderFor(url, cast);
  // seq 1 created, 2 assigned; 501 messages take 3..503, from six sockets
  // (each within its 100-frame burst, CONTRACT §5), in batches of 50.
  const drivers = await Promise.all(Array.from({ length: 6 }, () => connect(cast.driver)));
  for (let start = 0; start < TOTAL - 2; start += 50) {
    const batch = Array.from({ length: Math.min(50, TOTAL - 2 - start) }, (_, i) =>
      drivers[(start + i) % drivers.length]!.request({ action: 'message', messageId: `${orderId}-${start + i}`, orderId, text: `m${start + i}` }),
    );
    for (const ack of await Promise.all(batch)) expect(ack.type).toBe('ack');
  }
  await Promise.all(drivers.map((d) => d.close()));
}, 120_000);

describe('long catch-up', () => {
  it('cuts a subscribe catch-up at 500 with more: true, and HTTP pages the rest', async () => {
    const retailer = await connect(cast.retailer);
    const ack = await retailer.request({ action: 'subscribe', room: `order:${orderId}`, sinceSeq: 0 });
    expect(ack).toMatchObject({ type: 'ack', headSeq: TOTAL, more: true });
    const items = ack.items as Frame[];
    expect(items.map((e) => e.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const rest = await http<{ items: Frame[]; headSeq: number }>(url, 'GET', `/api/orders/${orderId}/timeline?sinceSeq=500`, {
      token: cast.retailer,
    });
    expect(rest.body.items.map((e) => e.seq)).toEqual([501, 502, 503]);
  });

  it('lets the SDK deliver all of it once, in order, paging past the cut by itself', async () => {
    const client = new WaypostClient({ baseUrl: url, token: cast.retailer, webSocket: (u) => nodeWebSocket(new WebSocket(u)) });
    const seen: number[] = [];
    client.subscribe(`order:${orderId}`, { onEvent: (e: OrderEvent) => seen.push(e.seq) }, 0);
    try {
      await client.connect();
      const deadline = Date.now() + 10_000;
      while (seen.length < TOTAL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen).toEqual(Array.from({ length: TOTAL }, (_, i) => i + 1));
    } finally {
      client.close();
    }
  });

  it('refuses an HTTP body over 64 KiB with 413 PAYLOAD_TOO_LARGE, creating nothing', async () => {
    const id = `big-${orderId}`;
    const res = await http<{ error: { code: string } }>(url, 'POST', '/api/orders', {
      token: cast.retailer,
      body: { orderId: id, retailerId: 'retailer-a', recipient: { name: 'x'.repeat(70 * 1024) }, destination: { address: 'y' } },
    });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await http(url, 'GET', `/api/orders/${id}`, { token: cast.retailer })).status).toBe(404);
  });
});
