/**
 * The local `@connections` API over HTTP answers only calls signed (SigV4)
 * with the runtime's own credentials, as API Gateway answers only IAM-signed
 * ones: anyone else on the machine can neither push a forged event to a
 * client nor disconnect it. It lives at the path's root only.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import WebSocket, { type RawData } from 'ws';
import { castOf, http, uniqueId, uniqueTenant, type Cast } from '../support/client';
import { runtimeCredentials, signedFetch, signedHeaders } from '../support/management';

const url = inject('runtimeUrl');
const secret = inject('jwtSecret');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const forged = '{"type":"event","room":"order:o-1","event":{"kind":"checkpoint","status":"delivered"}}';

let cast: Cast;
let socket: WebSocket;
let received: string[];
let closed: boolean;
let id: string;
beforeEach(async () => {
  cast = await castOf(secret, uniqueTenant('mgmt'));
  const userAgent = `mgmt-${uniqueId('ua')}`;
  socket = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(cast.retailer)}`, { headers: { 'user-agent': userAgent } });
  received = [];
  closed = false;
  socket.on('message', (data: RawData) => received.push((data as Buffer).toString('utf8')));
  socket.on('close', () => (closed = true));
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const list = await http<{ connectionId: string; userAgent: string }[]>(url, 'GET', '/_local/connections');
  id = list.body.find((c) => c.userAgent === userAgent)!.connectionId;
});
afterEach(() => socket.close());

const at = () => `/@connections/${encodeURIComponent(id)}`;

describe('the HTTP @connections API', () => {
  it('refuses unsigned calls with 403: nothing is pushed, nothing is closed, nothing is told', async () => {
    const post = await fetch(`${url}${at()}`, { method: 'POST', body: forged });
    expect(post.status).toBe(403);
    expect(post.headers.get('x-amzn-errortype')).toBe('ForbiddenException');
    await post.text();
    const get = await fetch(`${url}${at()}`);
    expect(get.status).toBe(403);
    expect(await get.text()).not.toContain('SourceIp');
    const del = await fetch(`${url}${at()}`, { method: 'DELETE' });
    expect(del.status).toBe(403);
    await del.text();
    // Unknown ids get the same 403: no one learns which ids exist.
    const unknown = await fetch(`${url}/@connections/${encodeURIComponent('nope0123456789=')}`, { method: 'DELETE' });
    expect(unknown.status).toBe(403);
    await unknown.text();
    await sleep(300);
    expect(received).toEqual([]);
    expect(closed).toBe(false);
  });

  it('refuses a signature made with another secret, another key, an old date or over another body', async () => {
    const own = runtimeCredentials();
    const attempts: Response[] = [
      await signedFetch(url, { accessKeyId: own.accessKeyId, secretAccessKey: randomBytes(20).toString('hex') }, 'POST', at(), forged),
      await signedFetch(url, { accessKeyId: 'local', secretAccessKey: 'local' }, 'POST', at(), forged),
      await signedFetch(url, own, 'POST', at(), forged, { signingDate: new Date(Date.now() - 10 * 60_000) }),
      await signedFetch(url, own, 'DELETE', at(), undefined, { signingDate: new Date(Date.now() + 10 * 60_000) }),
    ];
    // A signed request replayed with another body.
    const signedGood = await signedHeaders(url, own, 'POST', at(), '{"type":"ping"}');
    attempts.push(await fetch(`${url}${at()}`, { method: 'POST', headers: signedGood, body: forged }));
    for (const res of attempts) {
      expect(res.status).toBe(403);
      await res.text();
    }
    await sleep(300);
    expect(received).toEqual([]);
    expect(closed).toBe(false);
  });

  it('answers calls signed with the runtime credentials: POST pushes, GET describes, DELETE closes', async () => {
    const own = runtimeCredentials();
    const post = await signedFetch(url, own, 'POST', at(), '{"type":"hello"}');
    expect(post.status).toBe(200);
    await post.text();
    await expect.poll(() => received, { timeout: 5_000 }).toEqual(['{"type":"hello"}']);
    const get = await signedFetch(url, own, 'GET', at());
    expect(get.status).toBe(200);
    // GetConnection's shape: times as ISO strings, and the caller's loopback address.
    const described = (await get.json()) as { ConnectedAt: string; LastActiveAt: string; Identity: { SourceIp: string; UserAgent: string } };
    expect(described.Identity.SourceIp).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    expect(new Date(described.ConnectedAt).toISOString()).toBe(described.ConnectedAt);
    expect(Date.parse(described.LastActiveAt)).toBeGreaterThanOrEqual(Date.parse(described.ConnectedAt));
    const del = await signedFetch(url, own, 'DELETE', at());
    expect(del.status).toBe(204);
    await expect.poll(() => closed, { timeout: 5_000 }).toBe(true);
  });

  it('lives at the root only: /api/x/@connections/{id} and the like are not the management API', async () => {
    const own = runtimeCredentials();
    for (const prefix of ['/api/x', '/_local', '/local', '/x/y']) {
      const res = await signedFetch(url, own, 'POST', `${prefix}${at()}`, forged);
      expect({ prefix, status: res.status }).not.toEqual({ prefix, status: 200 });
      expect([401, 403, 404, 405]).toContain(res.status);
      await res.text();
      const del = await fetch(`${url}${prefix}${at()}`, { method: 'DELETE' });
      expect([401, 403, 404, 405]).toContain(del.status);
      await del.text();
    }
    await sleep(300);
    expect(received).toEqual([]);
    expect(closed).toBe(false);
  });
});
