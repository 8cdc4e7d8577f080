/**
 * The HTTP API (CONTRACT §4): one function behind `/api/*`. It verifies the
 * bearer token itself (behind API Gateway's JWT authorizer too, so no route
 * depends on the edge alone), parses with zod, and calls the services.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BadJsonError, PayloadTooLargeError, toPublicError } from '../../shared/domain/errors';
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
import { logger, ordersService, slaService, verifyToken } from '../common/wiring';
import { Router } from './router';

/** Bodies over this many bytes are refused with 413. */
export const HTTP_BODY_MAX_BYTES = 64 * 1024;

type Result = APIGatewayProxyStructuredResultV2;

interface Ctx {
  readonly principal: Principal;
  readonly query: Record<string, string | undefined>;
  body(): unknown;
}

const json = (statusCode: number, value: unknown): Result => ({
  statusCode,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify(value),
});

const router = new Router<Ctx, Result>()
  .on('POST', '/api/orders', async ({ principal, body }) => {
    const input = parseOrThrow(createOrderBodySchema, body(), 'order');
    const { created, order } = await ordersService().create(principal, input);
    return json(created ? 201 : 200, { order });
  })
  .on('GET', '/api/orders', async ({ principal, query }) => {
    const q = parseOrThrow(listOrdersQuerySchema, query, 'query');
    return json(200, await ordersService().list(principal, { ...q, stalled: q.stalled === 'true' }));
  })
  .on('GET', '/api/orders/{id}', async ({ principal }, { id }) => json(200, { order: await ordersService().get(principal, id!) }))
  .on('POST', '/api/orders/{id}/assign', async ({ principal, body }, { id }) => {
    const { driverId } = parseOrThrow(assignBodySchema, body(), 'assignment');
    return json(200, { order: await ordersService().assign(principal, id!, driverId) });
  })
  .on('GET', '/api/orders/{id}/timeline', async ({ principal, query }, { id }) => {
    const q = parseOrThrow(timelineQuerySchema, query, 'query');
    return json(200, await ordersService().timeline(principal, id!, q.sinceSeq, q.limit));
  })
  .on('GET', '/api/alerts', async ({ principal, query }) => {
    const { state } = parseOrThrow(alertsQuerySchema, query, 'query');
    return json(200, { alerts: await slaService().list(principal, state) });
  })
  .on('POST', '/api/alerts/{alertId}/ack', async ({ principal }, { alertId }) =>
    json(200, { alert: await slaService().acknowledge(principal, alertId!) }),
  )
  .on('GET', '/api/sla-policy', async ({ principal }) => json(200, await slaService().getPolicy(principal)))
  .on('PUT', '/api/sla-policy', async ({ principal, body }) => json(200, await slaService().putPolicy(principal, body())))
  .on('GET', '/api/orders/{id}/timeline.csv', async ({ principal, query }, { id }) => {
    const { sinceSeq = 0 } = parseOrThrow(timelineCsvQuerySchema, query, 'query');
    const { csv, nextSinceSeq } = await ordersService().timelineCsv(principal, id!, sinceSeq);
    const file = `${id!.replace(/[^\w.-]/g, '_')}-timeline${sinceSeq > 0 ? `-after-${sinceSeq}` : ''}.csv`;
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${file}"`,
        'cache-control': 'no-store',
        // Cut under the response budget: the rest is the next part (README, decisions).
        ...(nextSinceSeq !== undefined && {
          link: `</api/orders/${encodeURIComponent(id!)}/timeline.csv?sinceSeq=${nextSinceSeq}>; rel="next"`,
        }),
      },
      body: csv,
    };
  });

const alertsQuerySchema = z.object({ state: z.enum(ALERT_STATES).optional() });

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

export async function handleHttp(event: APIGatewayProxyEventV2): Promise<Result> {
  const method = event.requestContext.http.method.toUpperCase();
  const path = event.rawPath;
  if (method === 'GET' && path === '/api/health') return json(200, { ok: true });
  const { principal } = await verifyToken()(bearerToken(header(event, 'authorization')));
  const { handle } = router.match(method, path);
  const raw = event.body == null ? '' : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (Buffer.byteLength(raw, 'utf8') > HTTP_BODY_MAX_BYTES) throw new PayloadTooLargeError(HTTP_BODY_MAX_BYTES);
  return handle({
    principal,
    query: event.queryStringParameters ?? {},
    body: () => {
      if (raw === '') return undefined;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        throw new BadJsonError('The request body is not valid JSON.');
      }
    },
  });
}

export const handler = middy<APIGatewayProxyEventV2, Result>(handleHttp).use({
  name: 'http-errors',
  onError: (request) => {
    const err = toPublicError(request.error);
    if (err.code === 'INTERNAL') logger().error('http request failed', { path: request.event.rawPath, error: request.error });
    request.response = json(err.httpStatus, {
      error: { code: err.code, message: err.message, ...(err.details !== undefined && { details: err.details }) },
    });
  },
});
