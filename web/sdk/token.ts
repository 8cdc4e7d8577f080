/**
 * A token's times, read in the client without verifying it (the server
 * verifies every token): enough to renew a connection's token before it
 * expires. Browser-safe: `atob` and `TextDecoder`, no Node APIs.
 */

/** A token's `exp` and, when it has one, `iat`: epoch seconds. */
export interface TokenTimes {
  readonly exp: number;
  readonly iat?: number;
}

/** Renew at most this long before `exp`... */
export const RENEW_MARGIN_MAX_MS = 60_000;
/** ...and at most this share of the token's lifetime before it, so a short-lived token is not renewed at once. */
export const RENEW_MARGIN_SHARE = 0.1;

/** Decode one base64url part of a JWT to text; throws on bad base64. */
export function decodeBase64Url(part: string): string {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '=');
  const bin = atob(b64);
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

/** The `exp` (and `iat`) of a JWT, or null when it cannot be read or has no numeric `exp`. */
export function tokenTimes(token: string): TokenTimes | null {
  const payload = token.split('.')[1];
  if (payload === undefined || payload === '') return null;
  let claims: unknown;
  try {
    claims = JSON.parse(decodeBase64Url(payload));
  } catch {
    return null;
  }
  if (claims === null || typeof claims !== 'object') return null;
  const { exp, iat } = claims as { exp?: unknown; iat?: unknown };
  if (typeof exp !== 'number' || !Number.isFinite(exp)) return null;
  return typeof iat === 'number' && Number.isFinite(iat) ? { exp, iat } : { exp };
}

/**
 * When to renew a token (epoch ms): before its `exp` by 60 s or by a tenth of
 * its lifetime, whichever is smaller. The lifetime runs from `iat`, or from
 * `receivedAtMs` (when the client got the token) if it has none. An hour's
 * token is renewed a minute before it expires, a two-second one 200 ms before.
 */
export function renewAtMs(times: TokenTimes, receivedAtMs: number): number {
  const expMs = times.exp * 1000;
  const startMs = times.iat !== undefined ? times.iat * 1000 : receivedAtMs;
  const lifetimeMs = Math.max(0, expMs - startMs);
  return expMs - Math.min(RENEW_MARGIN_MAX_MS, lifetimeMs * RENEW_MARGIN_SHARE);
}

/**
 * How long to wait before trying a failed renewal again, with `msLeft` until
 * the token expires: a quarter of what is left, between 250 ms and 5 s, so a
 * few tries fit before the server closes the socket at `exp`.
 */
export function renewRetryMs(msLeft: number): number {
  return Math.max(250, Math.min(5_000, msLeft / 4));
}

/** A token, or a function giving a fresh one (at each connect, renewal and HTTP call). */
export type TokenSource = string | (() => string | Promise<string>);

/** The token to use now: the string itself, or what the provider gives (its errors propagate). */
export async function currentToken(source: TokenSource): Promise<string> {
  return typeof source === 'string' ? source : source();
}

/**
 * Renews one connection's token shortly before it expires (`renewAtMs`),
 * given a provider: `send` carries the new token to the server (the `auth`
 * action) and resolves with the `exp` the server granted, if it says. On
 * failure (no newer token, a refusal, a timeout) it tries again
 * (`renewRetryMs`) while the token lasts; past its `exp` the server closes
 * the socket (4001). One per open socket; `stop` it when the socket closes.
 */
export class TokenRenewal {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private expValue: number | undefined;

  constructor(
    private readonly source: TokenSource,
    private readonly send: (token: string) => Promise<number | undefined>,
    private readonly onRenewed: (exp: number) => void,
  ) {}

  /** The `exp` (epoch seconds) of the token the connection lives on now, when known. */
  get exp(): number | undefined {
    return this.expValue;
  }

  /** The socket opened on a token with these times (null: unreadable), received at `receivedAtMs`. */
  start(times: TokenTimes | null, receivedAtMs: number): void {
    this.expValue = times?.exp;
    this.schedule(times, receivedAtMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(times: TokenTimes | null, receivedAtMs: number): void {
    clearTimeout(this.timer);
    if (times === null || typeof this.source === 'string' || this.stopped) return;
    this.timer = setTimeout(() => void this.renew(), Math.max(0, renewAtMs(times, receivedAtMs) - Date.now()));
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    try {
      const token = await currentToken(this.source);
      const receivedAt = Date.now();
      const times = tokenTimes(token);
      if (times === null || times.exp <= (this.expValue ?? 0)) throw new Error('The token provider gave no token that lives longer.');
      const granted = await this.send(token);
      if (this.stopped) return;
      const exp = granted ?? times.exp;
      this.expValue = exp;
      this.schedule({ ...times, exp }, receivedAt);
      this.onRenewed(exp);
    } catch {
      if (this.stopped) return;
      const left = (this.expValue ?? 0) * 1000 - Date.now();
      if (left > 0) this.timer = setTimeout(() => void this.renew(), renewRetryMs(left));
    }
  }
}
