/**
 * A small path router for the HTTP API: `/api/orders/{id}` style patterns,
 * segments URL-decoded, one handler per method and path.
 */
import { NotFoundError, ValidationError } from '../../shared/domain/errors';
import { idSchema } from '../../shared/domain/schemas';

export type Params = Record<string, string>;

interface Route<C, R> {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handle: (ctx: C, params: Params) => Promise<R>;
}

export class Router<C, R> {
  private readonly routes: Route<C, R>[] = [];

  on(method: string, pattern: string, handle: (ctx: C, params: Params) => Promise<R>): this {
    this.routes.push({ method, segments: pattern.split('/').filter(Boolean), handle });
    return this;
  }

  /** The matching route's handler, bound to its params; NOT_FOUND if none matches. */
  match(method: string, path: string): { handle: (ctx: C) => Promise<R>; pattern: string } {
    let parts: string[];
    try {
      // An empty segment (`/api/orders//assign`) matches nothing: ids are never empty.
      parts = path.replace(/\/+$/, '').split('/').slice(1).map(decodeURIComponent);
    } catch {
      throw new NotFoundError(`No such path: ${path.slice(0, 200)}`);
    }
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (params === null) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      checkParams(params);
      return { handle: (ctx) => route.handle(ctx, params), pattern: `/${route.segments.join('/')}` };
    }
    throw new NotFoundError(pathMatched ? `${method} is not supported on ${path.slice(0, 200)}` : `No such path: ${path.slice(0, 200)}`);
  }
}

function matchSegments(pattern: readonly string[], parts: readonly string[]): Params | null {
  if (pattern.length !== parts.length) return null;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const v = parts[i]!;
    if (p.startsWith('{') && p.endsWith('}')) {
      const suffixAt = p.indexOf('}');
      params[p.slice(1, suffixAt)] = v;
    } else if (p.includes('{')) {
      // `{id}.csv`-style: a param with a fixed suffix
      const name = p.slice(p.indexOf('{') + 1, p.indexOf('}'));
      const suffix = p.slice(p.indexOf('}') + 1);
      if (!v.endsWith(suffix) || v.length === suffix.length) return null;
      params[name] = v.slice(0, v.length - suffix.length);
    } else if (p !== v) {
      return null;
    }
  }
  return params;
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
