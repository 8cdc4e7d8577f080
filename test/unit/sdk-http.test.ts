/**
 * The SDK's HTTP half (web/sdk/http.ts, moved from the console) with a fake
 * `fetch`, and the `ws` adapter (web/sdk/socket.ts) with a fake `ws`-shaped
 * emitter: no server in either.
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WaypostHttp } from '../../web/sdk/http';
import type { WaypostRequestError } from '../../web/sdk/requester';
import { nodeWebSocket } from '../../web/sdk/socket';

type Call = { url: string; init: RequestInit };

function fakeFetch(answer: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const f: typeof fetch = (input, init = {}) => {
    const call = { url: typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, init };
    calls.push(call);
    return Promise.resolve(answer(call));
  };
  return { f, calls };
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('WaypostHttp', () => {
  it('sends the bearer token (asked of the provider at each call) and JSON bodies, and reads JSON answers', async () => {
    const { f, calls } = fakeFetch(() => json(200, { ok: 1 }));
    let n = 0;
    const api = new WaypostHttp({ baseUrl: 'http://h', token: () => `tok-${++n}`, fetch: f });
    expect(await api.get('/api/orders')).toEqual({ ok: 1 });
    expect(await api.post('/api/orders', { a: 1 })).toEqual({ ok: 1 });
    await api.put('/api/x', { b: 2 });
    expect(calls.map((c) => [c.url, c.init.method, (c.init.headers as Record<string, string>).authorization, c.init.body])).toEqual([
      ['http://h/api/orders', 'GET', 'Bearer tok-1', undefined],
      ['http://h/api/orders', 'POST', 'Bearer tok-2', '{"a":1}'],
      ['http://h/api/x', 'PUT', 'Bearer tok-3', '{"b":2}'],
    ]);
    expect((calls[1]!.init.headers as Record<string, string>)['content-type']).toBe('application/json');
  });

  it("reads an order's timeline page by page", async () => {
    const { f, calls } = fakeFetch(() => json(200, { items: [], headSeq: 9 }));
    const api = new WaypostHttp({ baseUrl: 'http://h', token: 't', fetch: f });
    expect(await api.timeline('o/1', 4)).toEqual({ items: [], headSeq: 9 });
    expect(calls[0]!.url).toBe('http://h/api/orders/o%2F1/timeline?sinceSeq=4&limit=500');
  });

  it("fails with the error body's code, INTERNAL for a body without one, OFFLINE when unreachable, and calls onUnauthorized on a 401", async () => {
    const answers = [
      json(404, { error: { code: 'NOT_FOUND', message: 'No such order.' } }),
      new Response('<html>bad gateway</html>', { status: 502 }),
      json(401, { error: { code: 'UNAUTHORIZED', message: 'Token expired.' } }),
    ];
    const { f } = fakeFetch(() => answers.shift()!);
    let unauthorized = 0;
    const api = new WaypostHttp({ baseUrl: 'http://h', token: 't', fetch: f, onUnauthorized: () => void unauthorized++ });
    const codes: unknown[] = [];
    for (let i = 0; i < 3; i++) codes.push(await api.get('/api/x').catch((e: WaypostRequestError) => [e.code, e.message]));
    expect(codes).toEqual([
      ['NOT_FOUND', 'No such order.'],
      ['INTERNAL', 'HTTP 502'],
      ['UNAUTHORIZED', 'Token expired.'],
    ]);
    expect(unauthorized).toBe(1);
    const offline = new WaypostHttp({ baseUrl: 'http://h', token: 't', fetch: () => Promise.reject(new TypeError('fetch failed')) });
    await expect(offline.blob('/api/x.csv')).rejects.toMatchObject({ name: 'WaypostRequestError', code: 'OFFLINE' });
  });
});

/** The `ws` shape: an EventEmitter with readyState, send and close. */
class FakeWs extends EventEmitter {
  readyState = 0;
  readonly sent: string[] = [];
  closed: [number | undefined, string | undefined] | undefined;
  send(data: string): void {
    this.sent.push(data);
  }
  close(code?: number, reason?: string): void {
    this.closed = [code, reason];
  }
}

describe('nodeWebSocket', () => {
  it("maps ws's events to the browser-shaped handlers: text as a string, binary as it came, the close code", () => {
    const ws = new FakeWs();
    const socket = nodeWebSocket(ws);
    const got: unknown[] = [];
    socket.onopen = () => got.push('open');
    socket.onmessage = (ev) => got.push(ev.data);
    socket.onclose = (ev) => got.push(ev.code);
    ws.readyState = 1;
    ws.emit('open');
    ws.emit('message', Buffer.from('{"type":"ack"}'), false);
    const binary = Buffer.from([1, 2]);
    ws.emit('message', binary, true);
    ws.emit('close', 4001, Buffer.from('expired'));
    expect(got).toEqual(['open', '{"type":"ack"}', binary, 4001]);
    expect(socket.readyState).toBe(1);
    socket.send('x');
    socket.close(1000, 'bye');
    expect(ws.sent).toEqual(['x']);
    expect(ws.closed).toEqual([1000, 'bye']);
  });

  it('always listens for error, so a failed connection does not throw out of the emitter', () => {
    const ws = new FakeWs();
    nodeWebSocket(ws);
    expect(() => ws.emit('error', new Error('ECONNREFUSED'))).not.toThrow();
  });
});
