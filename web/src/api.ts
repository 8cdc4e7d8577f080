/**
 * The console's side of the HTTP API: where the server is (locally the
 * console is served by the runtime itself; in the cloud `config.json`,
 * written at deploy, names the HTTP and WebSocket APIs), downloads, and what
 * to tell a person about an error. The calls themselves are the SDK's
 * (`WaypostHttp`, web/sdk/http.ts).
 */
import { WaypostRequestError } from '../sdk/client';
import type { WaypostHttp } from '../sdk/http';

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

/**
 * Fetch a file with the token (`WaypostHttp.blob`) and hand it to the
 * browser as a download named `filename`.
 */
export async function download(api: WaypostHttp, path: string, filename: string): Promise<void> {
  const blob = await api.blob(path);
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
