import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { NotFoundError, ValidationError } from '../../shared/domain/errors';
import { createRouter, route, type HttpRouter, type Params } from '../../functions/http-api/router';

interface Hit {
  readonly route: string;
  readonly pattern: string;
  readonly params: Params;
  readonly ctx: string;
}

/** An HTTP API (payload 2.0) event as API Gateway sends it, for `method` and the raw `path`. */
function httpEvent(method: string, path: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    requestContext: {
      accountId: 'test',
      apiId: 'test',
      domainName: 'test',
      domainPrefix: 'test',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r1',
      routeKey: '$default',
      stage: '$default',
      time: '30/Nov/2026:10:00:00 +0000',
      timeEpoch: 0,
    },
    isBase64Encoded: false,
  };
}

const lambdaContext: Context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: 'http-api',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:http-api',
  memoryLimitInMB: '256',
  awsRequestId: 'r1',
  logGroupName: '/aws/lambda/http-api',
  logStreamName: 'test',
  getRemainingTimeInMillis: () => 1000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};

/** The same table as functions/http-api/handler.ts; each handler reports which route ran with which params. */
function apiRouter(): HttpRouter<string, string> {
  const hit =
    (name: string, pattern: string) =>
    async (ctx: string, params: Params): Promise<string> =>
      JSON.stringify({ route: name, pattern, params, ctx });
  return createRouter<string, string>([
    route('POST', '/api/orders', hit('create', '/api/orders')),
    route('GET', '/api/orders', hit('list', '/api/orders')),
    route('GET', '/api/orders/{id}', hit('get', '/api/orders/{id}')),
    route('POST', '/api/orders/{id}/assign', hit('assign', '/api/orders/{id}/assign')),
    route('GET', '/api/orders/{id}/timeline', hit('timeline', '/api/orders/{id}/timeline')),
    route('GET', '/api/orders/{id}/timeline.csv', hit('timeline.csv', '/api/orders/{id}/timeline.csv')),
    route('POST', '/api/alerts/{alertId}/ack', hit('ack', '/api/alerts/{alertId}/ack')),
  ]);
}

async function dispatch(method: string, path: string): Promise<Hit> {
  return JSON.parse(await apiRouter()(httpEvent(method, path), 'ctx', lambdaContext)) as Hit;
}

async function route_(method: string, path: string): Promise<{ route: string; params: Params; ctx: string }> {
  const { route: name, params, ctx } = await dispatch(method, path);
  return { route: name, params, ctx };
}

async function refusal(method: string, path: string): Promise<unknown> {
  try {
    await apiRouter()(httpEvent(method, path), 'ctx', lambdaContext);
  } catch (err) {
    return err;
  }
  throw new Error('expected the route to be refused, but it ran');
}

async function expectNotFound(method: string, path: string): Promise<NotFoundError> {
  const err = await refusal(method, path);
  expect(err).toBeInstanceOf(NotFoundError);
  expect((err as NotFoundError).code).toBe('NOT_FOUND');
  expect((err as NotFoundError).httpStatus).toBe(404);
  return err as NotFoundError;
}

describe('the route table on @middy/http-router', () => {
  it.each([
    ['POST', '/api/orders', 'create', {}],
    ['GET', '/api/orders', 'list', {}],
    ['GET', '/api/orders/ord-1', 'get', { id: 'ord-1' }],
    ['POST', '/api/orders/ord-1/assign', 'assign', { id: 'ord-1' }],
    ['GET', '/api/orders/ord-1/timeline', 'timeline', { id: 'ord-1' }],
    ['GET', '/api/orders/ord-1/timeline.csv', 'timeline.csv', { id: 'ord-1' }],
    ['POST', '/api/alerts/al-9/ack', 'ack', { alertId: 'al-9' }],
  ] as [string, string, string, Params][])('%s %s -> %s %j', async (method, path, expectedRoute, expectedParams) => {
    // Act
    const hit = await route_(method, path);

    // Assert
    expect(hit.route).toBe(expectedRoute);
    expect(hit.params).toEqual(expectedParams);
    expect(hit.ctx).toBe('ctx');
  });

  it('URL-decodes a {id} segment, including an encoded slash, space and unicode', async () => {
    // Act
    const slash = await route_('GET', '/api/orders/a%2Fb/timeline');
    const space = await route_('GET', '/api/orders/order%20%231');
    const unicode = await route_('GET', '/api/orders/%C3%A9t%C3%A9.csv');

    // Assert
    expect(slash).toEqual({ route: 'timeline', params: { id: 'a/b' }, ctx: 'ctx' });
    expect(space.params).toEqual({ id: 'order #1' });
    expect(unicode).toEqual({ route: 'get', params: { id: 'été.csv' }, ctx: 'ctx' });
  });

  it('an id that ends in .csv is still an id on the plain order route', async () => {
    // Act
    const hit = await route_('GET', '/api/orders/ord-1.csv');

    // Assert
    expect(hit).toEqual({ route: 'get', params: { id: 'ord-1.csv' }, ctx: 'ctx' });
  });

  it('tells timeline from timeline.csv', async () => {
    // Act
    const json = await dispatch('GET', '/api/orders/x/timeline');
    const csv = await dispatch('GET', '/api/orders/x/timeline.csv');

    // Assert
    expect(json.pattern).toBe('/api/orders/{id}/timeline');
    expect(csv.pattern).toBe('/api/orders/{id}/timeline.csv');
    expect(json.route).toBe('timeline');
    expect(csv.route).toBe('timeline.csv');
  });

  it('ignores a trailing slash', async () => {
    expect((await route_('GET', '/api/orders/ord-1/')).route).toBe('get');
  });

  it.each([
    '/api/nope',
    '/api/orders/ord-1/timeline.json',
    '/api/orders/ord-1/timelinecsv',
    '/api/orders/ord-1/assign/extra',
    '/api',
    '/',
    '/orders/ord-1',
  ])('an unknown path %j is NOT_FOUND', async (path) => {
    // Act
    const err = await expectNotFound('GET', path);

    // Assert
    expect(err.message).toMatch(/No such path/);
  });

  it.each([
    ['DELETE', '/api/orders/ord-1'],
    ['PUT', '/api/orders'],
    ['GET', '/api/orders/ord-1/assign'],
    ['POST', '/api/orders/ord-1/timeline.csv'],
    ['get', '/api/orders'],
  ])('a wrong method (%s %s) is NOT_FOUND and says the method is not supported', async (method, path) => {
    // Act
    const err = await expectNotFound(method, path);

    // Assert
    expect(err.message).toContain(`${method} is not supported`);
  });

  it('a malformed percent-escape is NOT_FOUND, not a crash', async () => {
    await expectNotFound('GET', '/api/orders/%E0%A4%A');
  });
});

describe('what the router keeps from the one it replaced, where middy alone would answer otherwise', () => {
  it('a literal part of a pattern is literal: timeline_csv is not timeline.csv', async () => {
    expect((await expectNotFound('GET', '/api/orders/ord-1/timeline_csv')).message).toBe('No such path: /api/orders/ord-1/timeline_csv');
  });

  it('matches literal segments decoded, and drops every trailing slash', async () => {
    expect(await route_('GET', '/api/%6Frders')).toEqual({ route: 'list', params: {}, ctx: 'ctx' });
    expect(await route_('GET', '/api/orders/ord-1//')).toEqual({ route: 'get', params: { id: 'ord-1' }, ctx: 'ctx' });
    expect(await route_('GET', '/api/orders/%25')).toEqual({ route: 'get', params: { id: '%' }, ctx: 'ctx' });
  });

  it('an empty id segment is the id "" (400 naming it), not an unknown path', async () => {
    // Act
    const err = await refusal('GET', '/api/orders//timeline');

    // Assert
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).details).toMatchObject({ issues: [{ field: 'id' }] });
  });

  it('a wrong method wins over a bad param; an unknown method or none is NOT_FOUND too', async () => {
    const long = 'x'.repeat(129);
    expect((await expectNotFound('DELETE', `/api/orders/${long}`)).message).toContain('DELETE is not supported');
    expect(await refusal('GET', `/api/orders/${long}`)).toBeInstanceOf(ValidationError);
    expect((await expectNotFound('PROPFIND', '/api/orders')).message).toBe('PROPFIND is not supported on /api/orders');
    expect((await expectNotFound('', '/api/orders')).message).toBe(' is not supported on /api/orders');
  });

  it('runs accept after the route and its params are accepted, before the handler', async () => {
    // Arrange
    const seen: string[] = [];
    const router = createRouter<string, string>([route('GET', '/api/orders/{id}', async (ctx, { id }) => `${ctx}:${id}`)], {
      accept: (ctx) => seen.push(`accept ${ctx}`),
    });

    // Act
    const answer = await router(httpEvent('GET', '/api/orders/o1'), 'c', lambdaContext);
    await router(httpEvent('GET', '/api/nope'), 'c', lambdaContext).catch(() => undefined);
    await router(httpEvent('GET', `/api/orders/${'x'.repeat(129)}`), 'c', lambdaContext).catch(() => undefined);

    // Assert
    expect(answer).toBe('c:o1');
    expect(seen).toEqual(['accept c']);
  });

  it('types the params from the pattern', async () => {
    const router = createRouter<null, string>([
      route('GET', '/a/{id}/b/{alertId}', async (_ctx, params) => {
        // @ts-expect-error: no such param in the pattern
        void params.orderId;
        return `${params.id}+${params.alertId}`;
      }),
    ]);
    expect(await router(httpEvent('GET', '/a/1/b/2'), null, lambdaContext)).toBe('1+2');
  });
});

describe('patterns with a fixed suffix', () => {
  const files = createRouter<null, string>([route('GET', '/files/{name}.csv', async (_ctx, p) => p.name)]);

  it('extracts the part before the suffix', async () => {
    // Act
    const name = await files(httpEvent('GET', '/files/report.csv'), null, lambdaContext);

    // Assert
    expect(name).toBe('report');
  });

  it('refuses the bare suffix and a different one', async () => {
    for (const path of ['/files/.csv', '/files/report.txt']) {
      expect(await files(httpEvent('GET', path), null, lambdaContext).catch((err: unknown) => err)).toBeInstanceOf(NotFoundError);
    }
  });
});
