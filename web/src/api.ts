/**
 * Where the server is, and HTTP calls with the bearer token. Locally the
 * console is served by the runtime itself; in the cloud `config.json` (written
 * at deploy) names the HTTP and WebSocket APIs.
 */
import type { ErrorCode } from '../../shared/domain/errors';
import { WaypostRequestError } from '../sdk/client';

export interface Endpoints {
  /** Base of `/api/*` (and `/_local/*` locally). */
  readonly httpBase: string;
  /** The WebSocket URL when it is not `<httpBase>/ws`. */
  readonly wsUrl?: string;
}

export async function loadEndpoints(): Promise<Endpoints> {
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) {
      const cfg = (await res.json()) as { httpUrl?: unknown; wsUrl?: unknown };
      if (typeof cfg.httpUrl === 'string' && typeof cfg.wsUrl === 'string') {
        return { httpBase: cfg.httpUrl.replace(/\/+$/, ''), wsUrl: cfg.wsUrl };
      }
    }
  } catch {
    // no config.json: the local runtime serves everything on one origin
  }
  return { httpBase: location.origin };
}

export class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
    private readonly onUnauthorized: () => void,
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>('PUT', path, body);
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
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
      if (res.status === 401) this.onUnauthorized();
      throw new WaypostRequestError(code, message);
    }
    return res;
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await (await this.send(method, path, body)).json()) as T;
  }

  /** Fetch a file with the token and hand it to the browser as a download. */
  async download(path: string, filename: string): Promise<void> {
    const blob = await (await this.send('GET', path)).blob();
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = filename;
    a.hidden = true;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

/** What to tell a person about a failed request. */
export function describeError(err: unknown): string {
  if (err instanceof WaypostRequestError) {
    switch (err.code) {
      case 'OFFLINE':
        return 'You are offline; try again when the connection is back.';
      case 'FORBIDDEN':
        return `Not allowed: ${err.message}`;
      case 'NOT_FOUND':
        return 'Not found (or not yours to see).';
      case 'ILLEGAL_TRANSITION':
        return `Refused: ${err.message}`;
      default:
        return `${err.message} (${err.code})`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}
