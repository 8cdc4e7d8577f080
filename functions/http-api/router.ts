/**
 * The HTTP API's routes as a table, matched by `@middy/http-router`:
 * `/api/orders/{id}` style patterns (a param may carry a fixed suffix,
 * `{name}.csv`), one handler per method and path, path params typed from the
 * pattern and URL-decoded.
 *
 * middy matches the raw path with `[^/]+` per param and a regex built from
 * the pattern. So that the answers stay those of the router this replaced,
 * it is handed a canonical path: trailing slashes dropped, each segment
 * URL-decoded (so `/api/%6Frders` is `/api/orders`) and then escaped again
 * only where it must be (`%` as `%25`, `/` as `%2F`, an empty segment as a
 * lone `%`, which no escaped segment can be), and literal parts of patterns
 * are regex-escaped (`timeline.csv` does not match `timeline_csv`).
 */
import type middy from '@middy/core';
import httpRouterHandler from '@middy/http-router';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { NotFoundError, ValidationError } from '../../shared/domain/errors';
import { idSchema } from '../../shared/domain/schemas';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** The names of the params in a pattern: `'/a/{id}/b/{alertId}.csv'` gives `'id' | 'alertId'`. */
export type ParamNames<P extends string> = P extends `${string}{${infer N}}${infer Rest}` ? N | ParamNames<Rest> : never;

/** A pattern's params, each a decoded, checked id. */
export type ParamsOf<P extends string> = { readonly [K in ParamNames<P>]: string };

/** A route's params by name. */
export type Params = Readonly<Record<string, string>>;

export interface Route<C, R> {
  readonly method: Method;
  /** The pattern, as written in the table (`/api/orders/{id}/timeline.csv`). */
  readonly path: string;
  readonly handle: (ctx: C, params: Params) => Promise<R>;
}

/**
 * One row of the table. `handle` gets the request's context and the params
 * named in `path`, typed (no `id!`).
 */
export function route<C, R, P extends string>(method: Method, path: P, handle: (ctx: C, params: ParamsOf<P>) => Promise<R>): Route<C, R> {
  const names = paramNames(path);
  return { method, path, handle: (ctx, params) => handle(ctx, pick(names, params)) };
}

function paramNames<P extends string>(path: P): ParamNames<P>[] {
  return [...path.matchAll(/\{([^/{}]+)\}/g)].map((m) => m[1] as ParamNames<P>);
}

function pick<N extends string>(names: readonly N[], params: Params): { readonly [K in N]: string } {
  const picked: Partial<Record<N, string>> = {};
  for (const name of names) picked[name] = params[name] ?? '';
  // Every name is set just above.
  return picked as Record<N, string>;
}

/** What middy is handed, with the caller's context for the matched route. */
const CTX = Symbol('route context');
type RoutedEvent<C> = APIGatewayProxyEventV2 & { readonly [CTX]: C };

/** middy's `notFoundResponse` must throw; this is caught below and answered as NOT_FOUND. */
class RouteMiss extends Error {}

/** A lone `%`: what an empty segment becomes, and nothing else can (every `%` of a segment is escaped). */
const EMPTY_SEGMENT = '%';

/** The path middy matches (see the header), or null when a segment is not valid percent-encoding. */
function canonicalPath(path: string): string | null {
  try {
    const segments = path
      .replace(/\/+$/, '')
      .split('/')
      .slice(1)
      .map((s) => decodeURIComponent(s).replace(/%/g, '%25').replace(/\//g, '%2F') || EMPTY_SEGMENT);
    return `/${segments.join('/')}`;
  } catch {
    return null;
  }
}

/** A param as matched in the canonical path, decoded. */
function paramValue(matched: string): string {
  if (matched === EMPTY_SEGMENT) return '';
  return matched.replace(/%2F|%25/g, (m) => (m === '%2F' ? '/' : '%'));
}

/** The pattern for middy: literal parts regex-escaped where it builds a regex (patterns with params). */
function middyPath(pattern: string): string {
  if (!pattern.includes('{')) return pattern;
  return pattern
    .split(/(\{[^/{}]+\})/)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
    .join('');
}

/**
 * Every path parameter is an id, held to the same schema as ids in bodies
 * (CONTRACT §5: non-empty, at most 128 characters, well-formed Unicode).
 *
 * @throws ValidationError naming the parameter (`details.issues[0].field`), so
 *   a malformed URL is a 400, never a 5xx from deeper down.
 */
function checkParams(params: Params): void {
  for (const [name, value] of Object.entries(params)) {
    const parsed = idSchema.safeParse(value);
    if (!parsed.success) {
      const why = parsed.error.issues[0]?.message ?? 'is not a valid id';
      throw new ValidationError(`Invalid path: "${name}" ${why}`, { issues: [{ field: name, message: why }] });
    }
  }
}

/** Runs a request through the table: `(event, ctx, context)` → the matched route's answer. */
export type HttpRouter<C, R> = (event: APIGatewayProxyEventV2, ctx: C, context: Context) => Promise<R>;

export interface RouterOptions<C> {
  /** Runs once a route and its params are accepted, before its handler (the body size check). */
  readonly accept?: (ctx: C) => void;
}

/**
 * The table as a router over `@middy/http-router`. The method is taken as
 * given (`requestContext.http.method`: the caller upper-cases it), the path
 * from `requestContext.http.path`.
 *
 * @throws NotFoundError `No such path: <path>` when no pattern matches the
 *   path (or it is not valid percent-encoding), `<METHOD> is not supported on
 *   <path>` when one does but not for this method (paths cut at 200
 *   characters).
 * @throws ValidationError when a param is not a valid id (see `checkParams`).
 */
export function createRouter<C, R extends APIGatewayProxyResultV2>(routes: readonly Route<C, R>[], options: RouterOptions<C> = {}): HttpRouter<C, R> {
  const notFoundResponse = (): never => {
    throw new RouteMiss();
  };
  const table = httpRouterHandler<RoutedEvent<C>, R>({
    routes: routes.map((r) => ({
      method: r.method,
      path: middyPath(r.path),
      handler: async (event: RoutedEvent<C>) => {
        const matched = event.pathParameters ?? {};
        const params = Object.fromEntries(paramNames(r.path).map((name) => [name, paramValue(matched[name] ?? '')]));
        checkParams(params);
        options.accept?.(event[CTX]);
        return r.handle(event[CTX], params);
      },
    })),
    notFoundResponse,
  });
  // The same patterns under one method: does the path exist at all, whatever the method?
  const anyMethod = httpRouterHandler<RoutedEvent<C>, string>({
    routes: routes.map((r) => ({ method: 'GET', path: middyPath(r.path), handler: async () => r.path })),
    notFoundResponse,
  });
  const run = async <T>(router: middy.MiddyfiedHandler<RoutedEvent<C>, T>, event: RoutedEvent<C>, context: Context): Promise<T | null> => {
    try {
      return await router(event, context);
    } catch (err) {
      if (err instanceof RouteMiss) return null;
      throw err;
    }
  };

  return async (event, ctx, context) => {
    const { method } = event.requestContext.http;
    const path = event.rawPath;
    const canonical = canonicalPath(path);
    const shown = path.slice(0, 200);
    if (canonical === null) throw new NotFoundError(`No such path: ${shown}`);
    const routed = (m: string): RoutedEvent<C> => ({
      ...event,
      requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: m, path: canonical } },
      pathParameters: {},
      [CTX]: ctx,
    });
    // middy refuses an event without a method as malformed; no route has an empty method anyway.
    const answer = method === '' ? null : await run(table, routed(method), context);
    if (answer !== null) return answer;
    const known = (await run(anyMethod, routed('GET'), context)) !== null;
    throw new NotFoundError(known ? `${method} is not supported on ${shown}` : `No such path: ${shown}`);
  };
}
