/**
 * The local gateway's event builders (local/gateway/events.ts): API
 * Gateway's CLF request time, the caller's identity, `$connect`'s single-
 * and multi-value headers and query, and the HTTP API event's cookies.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  clfTime,
  httpApiEvent,
  multiValueHeaders,
  multiValueQuery,
  wsConnectEvent,
  wsDisconnectEvent,
  wsMessageEvent,
  type WsEventSource,
} from '../../local/gateway/events';

function request(rawHeaders: string[], extra: Partial<IncomingMessage> = {}): IncomingMessage {
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const k = rawHeaders[i]!.toLowerCase();
    const v = rawHeaders[i + 1]!;
    const before = headers[k];
    headers[k] = before === undefined ? v : [...(Array.isArray(before) ? before : [before]), v];
  }
  return { headers, rawHeaders, method: 'GET', httpVersion: '1.1', socket: { remoteAddress: '127.0.0.1' } as Socket, ...extra } as IncomingMessage;
}

const source: WsEventSource = {
  connectionId: 'L0SM9cOFvHcCIhw=',
  connectedAt: new Date('2026-12-04T21:40:04.500Z'),
  identity: { sourceIp: '127.0.0.1', userAgent: 'probe/1' },
  domainName: '127.0.0.1:4000',
  stage: 'local',
};

describe('clfTime', () => {
  it("writes API Gateway's requestTime: dd/Mon/yyyy:HH:mm:ss +0000 in UTC", () => {
    expect(clfTime(new Date('2026-12-04T21:40:05.123Z'))).toBe('04/Dec/2026:21:40:05 +0000');
    expect(clfTime(new Date('2027-01-09T03:04:05Z'))).toBe('09/Jan/2027:03:04:05 +0000');
  });
});

describe('WebSocket events', () => {
  it('gives $connect the headers, every header value, the query in both forms, and identity', () => {
    const req = request(['Host', '127.0.0.1:4000', 'X-Dup', 'a', 'x-dup', 'b', 'User-Agent', 'probe/1']);
    const e = wsConnectEvent(source, req, new URL('http://127.0.0.1/ws?token=t1&k=1&k=2'));
    expect(e.headers).toEqual({ host: '127.0.0.1:4000', 'x-dup': 'a,b', 'user-agent': 'probe/1' });
    expect(e.multiValueHeaders).toEqual({ host: ['127.0.0.1:4000'], 'x-dup': ['a', 'b'], 'user-agent': ['probe/1'] });
    expect(e.queryStringParameters).toEqual({ token: 't1', k: '2' });
    expect(e.multiValueQueryStringParameters).toEqual({ token: ['t1'], k: ['1', '2'] });
    expect(e.requestContext).toMatchObject({
      routeKey: '$connect',
      eventType: 'CONNECT',
      messageDirection: 'IN',
      stage: 'local',
      connectedAt: source.connectedAt.getTime(),
      identity: { sourceIp: '127.0.0.1', userAgent: 'probe/1' },
      connectionId: source.connectionId,
      domainName: '127.0.0.1:4000',
      apiId: 'local',
    });
    expect(e.requestContext.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(e.requestContext).not.toHaveProperty('messageId');
  });

  it('gives $connect null query maps when the URL has none', () => {
    const e = wsConnectEvent(source, request([]), new URL('http://127.0.0.1/ws'));
    expect(e.queryStringParameters).toBeNull();
    expect(e.multiValueQueryStringParameters).toBeNull();
  });

  it('gives a message a messageId, and $disconnect none; both carry identity', () => {
    const m = wsMessageEvent(source, 'aGk=', true);
    expect(m).toMatchObject({ body: 'aGk=', isBase64Encoded: true, requestContext: { routeKey: '$default', eventType: 'MESSAGE', identity: source.identity } });
    expect(m.requestContext.messageId).toMatch(/^[\w-]{11}$/);
    const d = wsDisconnectEvent(source);
    expect(d.requestContext).toMatchObject({ routeKey: '$disconnect', eventType: 'DISCONNECT', identity: source.identity });
    expect(d.requestContext).not.toHaveProperty('messageId');
  });

  it('keeps user-named keys as own keys of prototype-less maps', () => {
    const q = multiValueQuery(new URLSearchParams('constructor=a&__proto__=b'));
    expect(Object.getPrototypeOf(q)).toBeNull();
    expect(Object.entries(q)).toEqual([
      ['constructor', ['a']],
      ['__proto__', ['b']],
    ]);
    const h = multiValueHeaders(['constructor', 'x']);
    expect(Object.hasOwn(h, 'constructor')).toBe(true);
  });
});

describe('HTTP API event', () => {
  it('is payload 2.0 with cookies, the raw query, the $default route and a CLF time', () => {
    const req = request(['Cookie', 'a=1; b=2', 'User-Agent', 'probe/1'], { method: 'POST' });
    const e = httpApiEvent(req, new URL('http://127.0.0.1/api/orders?x=1&x=2'), Buffer.from('{}'), '127.0.0.1:4000');
    expect(e).toMatchObject({
      version: '2.0',
      routeKey: '$default',
      rawPath: '/api/orders',
      rawQueryString: 'x=1&x=2',
      cookies: ['a=1', 'b=2'],
      queryStringParameters: { x: '1,2' },
      body: '{}',
      isBase64Encoded: false,
      requestContext: { routeKey: '$default', stage: '$default', domainPrefix: '127', http: { method: 'POST', path: '/api/orders', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'probe/1' } },
    });
    expect(e.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    const bare = httpApiEvent(request([]), new URL('http://127.0.0.1/api/health'), Buffer.alloc(0), '127.0.0.1:4000');
    expect(bare).not.toHaveProperty('cookies');
    expect(bare).not.toHaveProperty('body');
    expect(bare).not.toHaveProperty('queryStringParameters');
  });
});
