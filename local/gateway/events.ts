/**
 * The events the local gateway hands to the handlers, one builder per event
 * shape (after serverless-offline's `lambda-events/`), shaped as API Gateway
 * sends them so a handler that parses the full AWS shape (Powertools'
 * `@aws-lambda-powertools/parser` schemas, for one) behaves the same locally:
 *
 * - WebSocket API (`$connect`, `$default`, `$disconnect`): the request context
 *   of AWS's "WebSocket API Lambda proxy integration" events, with `identity`
 *   (`sourceIp`, `userAgent`), `requestTime` in API Gateway's CLF format and
 *   `messageId` on messages only; `$connect` also has `headers`,
 *   `multiValueHeaders`, `queryStringParameters` and
 *   `multiValueQueryStringParameters` (null when the URL has no query);
 * - HTTP API (payload format 2.0): `rawPath`, `rawQueryString`, `cookies`,
 *   `requestContext.http`, `routeKey: '$default'`.
 *
 * Source of the shapes: the AWS developer guide ("Set up WebSocket API
 * integration requests", "Working with AWS Lambda proxy integrations for HTTP
 * APIs", payload 2.0) and Powertools' parser schemas
 * `APIGatewayProxyWebsocketEventSchema` and `APIGatewayProxyEventV2Schema`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { APIGatewayEventWebsocketRequestContextV2, APIGatewayProxyEventV2 } from 'aws-lambda';
import { dict, ownValue } from '../../shared/domain/user-keys';

/** The caller of a WebSocket event, as API Gateway reports it. */
export interface WsIdentity {
  readonly sourceIp: string;
  readonly userAgent: string;
}

/**
 * A WebSocket event's `requestContext`: `@types/aws-lambda`'s
 * `APIGatewayEventWebsocketRequestContextV2` plus `identity`, with
 * `messageId` only on `MESSAGE` events (as AWS sends it).
 */
export type WsRequestContext<T extends WsEventType = WsEventType> = Omit<APIGatewayEventWebsocketRequestContextV2, 'messageId' | 'eventType'> & {
  readonly eventType: T;
  readonly messageId?: string;
  readonly identity: WsIdentity;
};

export type WsEventType = 'CONNECT' | 'MESSAGE' | 'DISCONNECT';

/** `$connect`: the upgrade request's headers and query string. */
export interface WsConnectEventV2 {
  readonly requestContext: WsRequestContext<'CONNECT'>;
  /** Names lower-cased, a repeated header's values joined with commas. */
  readonly headers: Record<string, string>;
  /** Every value of every header, in the order sent (names lower-cased). */
  readonly multiValueHeaders: Record<string, string[]>;
  /** The last value of each parameter; null when the URL has no query. */
  readonly queryStringParameters: Record<string, string> | null;
  /** Every value of each parameter; null when the URL has no query. */
  readonly multiValueQueryStringParameters: Record<string, string[]> | null;
  readonly isBase64Encoded: false;
}

/** `$default`: one client frame; a binary frame's body is base64 (`isBase64Encoded`). */
export interface WsMessageEventV2 {
  readonly requestContext: WsRequestContext<'MESSAGE'>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

/** `$disconnect`. */
export interface WsDisconnectEventV2 {
  readonly requestContext: WsRequestContext<'DISCONNECT'>;
  readonly isBase64Encoded: false;
}

/** What every WebSocket event of one connection shares. */
export interface WsEventSource {
  readonly connectionId: string;
  readonly connectedAt: Date;
  readonly identity: WsIdentity;
  /** `host:port` of the gateway. */
  readonly domainName: string;
  /** The WebSocket API stage (`local`). */
  readonly stage: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/**
 * A time in API Gateway's `requestTime` format, the Common Log Format in UTC:
 * `04/Dec/2026:21:40:05 +0000` (day, English month abbreviation, year,
 * 24-hour time, offset). Source: API Gateway's `$context.requestTime`.
 */
export function clfTime(at: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(at.getUTCDate())}/${MONTHS[at.getUTCMonth()]}/${at.getUTCFullYear()}:` +
    `${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`
  );
}

/** The caller of a request: its address (loopback when the socket has none) and `User-Agent` ('' when none). */
export function identityOf(req: IncomingMessage): WsIdentity {
  return { sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: req.headers['user-agent'] ?? '' };
}

function wsRequestContext<T extends WsEventType>(source: WsEventSource, eventType: T, routeKey: string): WsRequestContext<T> {
  const now = new Date();
  return {
    routeKey,
    eventType,
    ...(eventType === 'MESSAGE' && { messageId: randomBytes(8).toString('base64url') }),
    extendedRequestId: randomUUID(),
    requestTime: clfTime(now),
    messageDirection: 'IN',
    stage: source.stage,
    connectedAt: source.connectedAt.getTime(),
    requestTimeEpoch: now.getTime(),
    identity: source.identity,
    requestId: randomUUID(),
    domainName: source.domainName,
    connectionId: source.connectionId,
    apiId: 'local',
  };
}

/** The `$connect` event of an upgrade request (`url`: its parsed target). */
export function wsConnectEvent(source: WsEventSource, req: IncomingMessage, url: URL): WsConnectEventV2 {
  const hasQuery = [...url.searchParams.keys()].length > 0;
  return {
    requestContext: wsRequestContext(source, 'CONNECT', '$connect'),
    headers: flatHeaders(req.headers),
    multiValueHeaders: multiValueHeaders(req.rawHeaders),
    // Names are the client's: prototype-less objects (the last of a repeated name wins in the single-value map).
    queryStringParameters: hasQuery ? dict(url.searchParams) : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQuery(url.searchParams) : null,
    isBase64Encoded: false,
  };
}

/** The `$default` event of one frame (`body` base64 when the frame was binary). */
export function wsMessageEvent(source: WsEventSource, body: string, isBase64Encoded: boolean): WsMessageEventV2 {
  return { requestContext: wsRequestContext(source, 'MESSAGE', '$default'), body, isBase64Encoded };
}

/** The `$disconnect` event. */
export function wsDisconnectEvent(source: WsEventSource): WsDisconnectEventV2 {
  return { requestContext: wsRequestContext(source, 'DISCONNECT', '$disconnect'), isBase64Encoded: false };
}

/**
 * The HTTP API (payload 2.0) event of a request: the `$default` route of the
 * `$default` stage, the body as UTF-8 text (absent when empty).
 */
export function httpApiEvent(req: IncomingMessage, url: URL, body: Buffer, domainName: string): APIGatewayProxyEventV2 {
  const now = new Date();
  const headers = flatHeaders(req.headers);
  const query = apiQuery(url.searchParams);
  const cookies = req.headers.cookie === undefined ? [] : req.headers.cookie.split(/;\s*/).filter((c) => c !== '');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName,
      domainPrefix: domainName.split('.')[0] ?? domainName,
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: clfTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 && { body: body.toString('utf8') }),
    isBase64Encoded: false,
  };
}

/**
 * Request headers as API Gateway passes them: names lower-cased, repeated
 * values joined with commas. Names are the client's, so the object has no
 * prototype (`dict`): a header named `__proto__` or `constructor` is a
 * header like any other.
 */
export function flatHeaders(raw: IncomingMessage['headers']): Record<string, string> {
  const headers = dict<string>();
  for (const [k, v] of Object.entries(raw)) {
    if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(',') : v;
  }
  return headers;
}

/** `multiValueHeaders` from Node's `rawHeaders` (name, value, name, value, …): names lower-cased, every value kept. */
export function multiValueHeaders(rawHeaders: readonly string[]): Record<string, string[]> {
  const headers = dict<string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? '').toLowerCase();
    const before = ownValue(headers, name);
    if (before === undefined) headers[name] = [rawHeaders[i + 1] ?? ''];
    else before.push(rawHeaders[i + 1] ?? '');
  }
  return headers;
}

/** `multiValueQueryStringParameters`: every value of each parameter, in order (prototype-less). */
export function multiValueQuery(params: URLSearchParams): Record<string, string[]> {
  const query = dict<string[]>();
  for (const [k, v] of params) {
    const before = ownValue(query, k);
    if (before === undefined) query[k] = [v];
    else before.push(v);
  }
  return query;
}

/**
 * An HTTP API (payload 2.0) event's `queryStringParameters`: a repeated
 * parameter's values joined with commas, as API Gateway does. Names are the
 * client's, so the object has no prototype and "seen before" means an own
 * key: `?constructor=a` is `{constructor: "a"}`, not Object's function
 * joined with "a".
 */
export function apiQuery(params: URLSearchParams): Record<string, string> {
  const query = dict<string>();
  for (const [k, v] of params) {
    const before = ownValue(query, k);
    query[k] = before === undefined ? v : `${before},${v}`;
  }
  return query;
}
