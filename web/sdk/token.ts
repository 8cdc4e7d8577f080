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
