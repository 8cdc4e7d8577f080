import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../shared/domain/errors';
import { Router, type Params } from '../../functions/http-api/router';
import { caught } from './fixtures';

interface Hit {
  readonly route: string;
  readonly params: Params;
  readonly ctx: string;
}

/** The same table as functions/http-api/handler.ts; each handler reports which route ran with which params. */
function apiRouter(): Router<string, Hit> {
  const hit = (route: string) => async (ctx: string, params: Params): Promise<Hit> => ({ route, params, ctx });
  return new Router<string, Hit>()
    .on('POST', '/api/orders', hit('create'))
    .on('GET', '/api/orders', hit('list'))
    .on('GET', '/api/orders/{id}', hit('get'))
    .on('POST', '/api/orders/{id}/assign', hit('assign'))
    .on('GET', '/api/orders/{id}/timeline', hit('timeline'))
    .on('GET', '/api/orders/{id}/timeline.csv', hit('timeline.csv'))
    .on('POST', '/api/alerts/{alertId}/ack', hit('ack'));
}

async function route(method: string, path: string): Promise<Hit> {
  return apiRouter().match(method, path).handle('ctx');
}

function expectNotFound(method: string, path: string): NotFoundError {
  const err = caught(() => apiRouter().match(method, path));
  expect(err).toBeInstanceOf(NotFoundError);
  expect((err as NotFoundError).code).toBe('NOT_FOUND');
  expect((err as NotFoundError).httpStatus).toBe(404);
  return err as NotFoundError;
}

describe('Router.match', () => {
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
    const hit = await route(method, path);

    // Assert
    expect(hit.route).toBe(expectedRoute);
    expect(hit.params).toEqual(expectedParams);
    expect(hit.ctx).toBe('ctx');
  });

  it('URL-decodes a {id} segment, including an encoded slash, space and unicode', async () => {
    // Act
    const slash = await route('GET', '/api/orders/a%2Fb/timeline');
    const space = await route('GET', '/api/orders/order%20%231');
    const unicode = await route('GET', '/api/orders/%C3%A9t%C3%A9.csv');

    // Assert
    expect(slash).toEqual({ route: 'timeline', params: { id: 'a/b' }, ctx: 'ctx' });
    expect(space.params).toEqual({ id: 'order #1' });
    expect(unicode).toEqual({ route: 'get', params: { id: 'été.csv' }, ctx: 'ctx' });
  });

  it('an id that ends in .csv is still an id on the plain order route', async () => {
    // Act
    const hit = await route('GET', '/api/orders/ord-1.csv');

    // Assert
    expect(hit).toEqual({ route: 'get', params: { id: 'ord-1.csv' }, ctx: 'ctx' });
  });

  it('tells timeline from timeline.csv', async () => {
    // Act
    const json = apiRouter().match('GET', '/api/orders/x/timeline');
    const csv = apiRouter().match('GET', '/api/orders/x/timeline.csv');

    // Assert
    expect(json.pattern).toBe('/api/orders/{id}/timeline');
    expect(csv.pattern).toBe('/api/orders/{id}/timeline.csv');
    expect((await json.handle('ctx')).route).toBe('timeline');
    expect((await csv.handle('ctx')).route).toBe('timeline.csv');
  });

  it('ignores a trailing slash', async () => {
    expect((await route('GET', '/api/orders/ord-1/')).route).toBe('get');
  });

  it.each([
    '/api/nope',
    '/api/orders/ord-1/timeline.json',
    '/api/orders/ord-1/timelinecsv',
    '/api/orders/ord-1/assign/extra',
    '/api',
    '/',
    '/orders/ord-1',
  ])('an unknown path %j is NOT_FOUND', (path) => {
    // Act
    const err = expectNotFound('GET', path);

    // Assert
    expect(err.message).toMatch(/No such path/);
  });

  it.each([
    ['DELETE', '/api/orders/ord-1'],
    ['PUT', '/api/orders'],
    ['GET', '/api/orders/ord-1/assign'],
    ['POST', '/api/orders/ord-1/timeline.csv'],
    ['get', '/api/orders'],
  ])('a wrong method (%s %s) is NOT_FOUND and says the method is not supported', (method, path) => {
    // Act
    const err = expectNotFound(method, path);

    // Assert
    expect(err.message).toContain(`${method} is not supported`);
  });

  it('a malformed percent-escape is NOT_FOUND, not a crash', () => {
    expectNotFound('GET', '/api/orders/%E0%A4%A');
  });
});

describe('Router patterns with a fixed suffix', () => {
  const files = new Router<null, string>().on('GET', '/files/{name}.csv', async (_ctx, p) => p['name'] ?? '');

  it('extracts the part before the suffix', async () => {
    // Act
    const name = await files.match('GET', '/files/report.csv').handle(null);

    // Assert
    expect(name).toBe('report');
  });

  it('refuses the bare suffix and a different one', () => {
    expect(caught(() => files.match('GET', '/files/.csv'))).toBeInstanceOf(NotFoundError);
    expect(caught(() => files.match('GET', '/files/report.txt'))).toBeInstanceOf(NotFoundError);
  });
});
