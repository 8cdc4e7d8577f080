/**
 * The HTTP half of the SDK (`/api/*`, CONTRACT §4): calls with the bearer
 * token, errors as `WaypostRequestError` with the contract's code, as on the
 * socket. The console uses it, the client pages long catch-ups through it,
 * and a retailer's backend can use it alone. Browser-safe (`fetch` only).
 */
import type { ErrorCode } from '../../shared/domain/errors';
import type { OrderEvent } from '../../shared/domain/model';
import { WaypostRequestError } from './requester';
import { currentToken, type TokenSource } from './token';

export interface WaypostHttpOptions {
  /** Base of `/api/*`: `http://127.0.0.1:4000` locally, the HTTP API's URL in the cloud. */
  readonly baseUrl: string;
  /** A token, or a function giving one, asked at each call. */
  readonly token: TokenSource;
  /** Default: the global `fetch`. */
  readonly fetch?: typeof fetch;
  /** Called on a 401 (the token expired or was refused), before the call fails with the server's code. */
  readonly onUnauthorized?: () => void;
}

/** One page of an order's timeline (`GET /api/orders/{id}/timeline`). */
export interface TimelinePage {
  readonly items: OrderEvent[];
  readonly headSeq: number;
}

export class WaypostHttp {
  constructor(private readonly options: WaypostHttpOptions) {}

  /**
   * GET a JSON body.
   *
   * @param path from the base, query included: `/api/orders?status=delivered`
   * @throws {WaypostRequestError} `OFFLINE` when the server cannot be reached; else the error body's `code` and `message` (`INTERNAL` and `HTTP <status>` when it has none)
   */
  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** POST `body` as JSON and read the JSON answer; throws as `get`. */
  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  /** PUT `body` as JSON and read the JSON answer; throws as `get`. */
  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  /** GET a file (a CSV export) as a `Blob`; throws as `get`. */
  async blob(path: string): Promise<Blob> {
    return (await this.send('GET', path)).blob();
  }

  /**
   * The events of an order after `sinceSeq`, oldest first, at most `limit`
   * (the server's cap is 500, CONTRACT §4); `headSeq` is the order's latest.
   */
  timeline(orderId: string, sinceSeq: number, limit = 500): Promise<TimelinePage> {
    return this.get<TimelinePage>(`/api/orders/${encodeURIComponent(orderId)}/timeline?sinceSeq=${sinceSeq}&limit=${limit}`);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.send(method, path, body)).json()) as T;
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const f = this.options.fetch ?? fetch;
    const token = await currentToken(this.options.token);
    let res: Response;
    try {
      res = await f(`${this.options.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        ...(body !== undefined && { body: JSON.stringify(body) }),
        cache: 'no-store',
      });
    } catch {
      throw new WaypostRequestError('OFFLINE', 'The server cannot be reached.');
    }
    if (!res.ok) {
      let code: ErrorCode = 'INTERNAL';
      let message = `HTTP ${res.status}`;
      try {
        const err = ((await res.json()) as { error?: { code: ErrorCode; message: string } }).error;
        if (err) {
          code = err.code;
          message = err.message;
        }
      } catch {
        // not JSON
      }
      if (res.status === 401) this.options.onUnauthorized?.();
      throw new WaypostRequestError(code, message);
    }
    return res;
  }
}
