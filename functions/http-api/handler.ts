/**
 * The HTTP API (CONTRACT §4): one function behind `/api/*`. It verifies the
 * bearer token itself (behind API Gateway's JWT authorizer too, so no route
 * depends on the edge alone), parses with zod, and calls the services.
 */
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { BadJsonError, PayloadTooLargeError, ValidationError } from '../../shared/domain/errors';
import type { Principal } from '../../shared/domain/model';
import { ALERT_STATES } from '../../shared/domain/sla';
import { z } from 'zod';
import {
  assignBodySchema,
  createOrderBodySchema,
  listOrdersQuerySchema,
  parseOrThrow,
  timelineCsvQuerySchema,
  timelineQuerySchema,
} from '../../shared/domain/schemas';
import { bearerToken } from '../../shared/runtime/auth';
import { httpErrors, jsonResponse as json } from '../common/http-errors';
import { logger, ordersService, slaService, verifyToken, type App } from '../common/wiring';
import { createRouter, route } from './router';

/** Bodies over this many bytes are refused with 413. */
export const HTTP_BODY_MAX_BYTES = 64 * 1024;

type Result = APIGatewayProxyStructuredResultV2;

interface Ctx {
  readonly principal: Principal;
  readonly query: Record<string, string | undefined>;
  /** The body's size in bytes (UTF-8), checked before any handler runs. */
  readonly bodyBytes: number;
  readonly body: () => unknown;
}

const alertsQuerySchema = z.object({ state: z.enum(ALERT_STATES).optional() });

/**
 * Refuse a query string whose percent-encoding is malformed (`%zz`, `%E0`):
 * CONTRACT §4 makes that a 4xx, but a lenient decoder (URLSearchParams, and
 * API Gateway passing the text through) would read `%zz` as those three
 * characters and answer as if it were a value.
 *
 * @param rawQueryString the query as sent, without `?` (HTTP API payload 2.0's `rawQueryString`)
 * @throws {ValidationError} naming the parameter, `details.issues[0].field` its name
 */
export function checkQueryEncoding(rawQueryString: string | undefined): void {
  if (rawQueryString === undefined || rawQueryString === '') return;
  for (const pair of rawQueryString.split('&')) {
    const [name = '', value = ''] = pair.split('=', 2);
    for (const part of [name, value]) {
      try {
        decodeURIComponent(part.replace(/\+/g, ' '));
      } catch {
        const field = (() => {
          try {
            return decodeURIComponent(name);
          } catch {
            return '(query)';
          }
        })();
        throw new ValidationError(`Invalid query: "${field.slice(0, 64)}" has malformed percent-encoding.`, {
          issues: [{ field, message: 'malformed percent-encoding' }],
        });
      }
    }
  }
}

/** The HTTP API over an app's parts (the module's `handler`: the default app's). */
export function httpApiHandler({ logger, ordersService, slaService, verifyToken }: Pick<App, 'logger' | 'ordersService' | 'slaService' | 'verifyToken'>) {
  /** The routes (CONTRACT §4). */
  const ROUTES = [
    route('POST', '/api/orders', async ({ principal, body }: Ctx) => {
      const input = parseOrThrow(createOrderBodySchema, body(), 'order');
      const { created, order } = await ordersService().create(principal, input);
      return json(created ? 201 : 200, { order });
    }),
    route('GET', '/api/orders', async ({ principal, query }: Ctx) => {
      const q = parseOrThrow(listOrdersQuerySchema, query, 'query');
      return json(200, await ordersService().list(principal, { ...q, stalled: q.stalled === 'true' }));
    }),
    route('GET', '/api/orders/{id}', async ({ principal }: Ctx, { id }) => json(200, { order: await ordersService().get(principal, id) })),
    route('POST', '/api/orders/{id}/assign', async ({ principal, body }: Ctx, { id }) => {
      const { driverId } = parseOrThrow(assignBodySchema, body(), 'assignment');
      return json(200, { order: await ordersService().assign(principal, id, driverId) });
    }),
    route('GET', '/api/orders/{id}/timeline', async ({ principal, query }: Ctx, { id }) => {
      const q = parseOrThrow(timelineQuerySchema, query, 'query');
      return json(200, await ordersService().timeline(principal, id, q.sinceSeq, q.limit));
    }),
    route('GET', '/api/alerts', async ({ principal, query }: Ctx) => {
      const { state } = parseOrThrow(alertsQuerySchema, query, 'query');
      return json(200, { alerts: await slaService().list(principal, state) });
    }),
    route('POST', '/api/alerts/{alertId}/ack', async ({ principal }: Ctx, { alertId }) =>
      json(200, { alert: await slaService().acknowledge(principal, alertId) }),
    ),
    route('GET', '/api/sla-policy', async ({ principal }: Ctx) => json(200, await slaService().getPolicy(principal))),
    route('PUT', '/api/sla-policy', async ({ principal, body }: Ctx) => json(200, await slaService().putPolicy(principal, body()))),
    route('GET', '/api/orders/{id}/timeline.csv', async ({ principal, query }: Ctx, { id }): Promise<Result> => {
      const { sinceSeq = 0 } = parseOrThrow(timelineCsvQuerySchema, query, 'query');
      const { csv, nextSinceSeq } = await ordersService().timelineCsv(principal, id, sinceSeq);
      const file = `${id.replace(/[^\w.-]/g, '_')}-timeline${sinceSeq > 0 ? `-after-${sinceSeq}` : ''}.csv`;
      return {
        statusCode: 200,
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="${file}"`,
          'cache-control': 'no-store',
          // Cut under the response budget: the rest is the next part (README, decisions).
          ...(nextSinceSeq !== undefined && {
            link: `</api/orders/${encodeURIComponent(id)}/timeline.csv?sinceSeq=${nextSinceSeq}>; rel="next"`,
          }),
        },
        body: csv,
      };
    }),
  ];

  /** A matched route's body must fit (after its path params are checked, before it runs). */
  const router = createRouter<Ctx, Result>(ROUTES, {
    accept: ({ bodyBytes }) => {
      if (bodyBytes > HTTP_BODY_MAX_BYTES) throw new PayloadTooLargeError(HTTP_BODY_MAX_BYTES);
    },
  });

  /**
   * One request: `GET /api/health` answers without a token; anything else needs
   * a valid bearer token (401 before any 404), then goes through the route
   * table (404 for an unknown path or method, 400 for a bad path param, 413 for
   * a body over `HTTP_BODY_MAX_BYTES`). Header names are lower case
   * (`http-header-normalizer` runs first). Errors are thrown, and rendered by
   * `httpErrors`.
   */
  async function handleHttp(event: APIGatewayProxyEventV2, context: Context): Promise<Result> {
    const method = event.requestContext.http.method.toUpperCase();
    const path = event.rawPath;
    if (method === 'GET' && path === '/api/health') return json(200, { ok: true });
    const headers = event.headers ?? {};
    const { principal } = await verifyToken()(bearerToken(Object.hasOwn(headers, 'authorization') ? headers['authorization'] : undefined));
    checkQueryEncoding(event.rawQueryString);
    const raw = event.body == null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    const ctx: Ctx = {
      principal,
      query: event.queryStringParameters ?? {},
      bodyBytes: Buffer.byteLength(raw, 'utf8'),
      body: () => {
        if (raw === '') return undefined;
        try {
          return JSON.parse(raw) as unknown;
        } catch {
          throw new BadJsonError('The request body is not valid JSON.');
        }
      },
    };
    return router({ ...event, requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method } } }, ctx, context);
  }

  // http-json-body-parser is not used: it answers 415 for a body without a JSON
  // content type or with bad JSON, where the contract's answers are 400
  // VALIDATION / BAD_JSON, and it would parse bodies on routes that take none.
  return middy<APIGatewayProxyEventV2, Result>()
    .use(httpHeaderNormalizer())
    .use(httpErrors(logger))
    .handler(handleHttp);
}

export const handler = httpApiHandler({ logger, ordersService, slaService, verifyToken });
