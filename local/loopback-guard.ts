/**
 * The local gateway answers only requests addressed to this machine by a
 * loopback name, so a web page whose name was rebound to 127.0.0.1 (DNS
 * rebinding) cannot read `/_local/demo-users` or open a socket: its browser
 * sends `Host: attacker.example`, and `Origin: http://attacker.example` on a
 * WebSocket upgrade. Other local programs are not stopped by this (they can
 * send any header); it keeps remote web pages out.
 */
import type { IncomingMessage } from 'node:http';

/** Why a request is refused: an HTTP status and its reason phrase. */
export interface Refusal {
  readonly status: number;
  readonly text: string;
}

/** `127.0.0.1`, `localhost` or `[::1]`, with an optional port (names are case-insensitive, RFC 9110 §4.2.3). */
const LOOPBACK_AUTHORITY = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::\d{1,5})?$/i;

/**
 * 421 Misdirected Request unless the `Host` header names a loopback address
 * (`127.0.0.1`, `localhost` or `[::1]`, with or without a port). A request
 * without `Host` is refused too, except in HTTP/1.0, where `Host` is optional
 * (RFC 9112 §3.2 requires it from HTTP/1.1 on) and which no browser sends.
 *
 * @returns null when the request may be answered.
 */
export function hostRefusal(req: IncomingMessage): Refusal | null {
  const host = req.headers.host;
  if (host === undefined || host === '') return req.httpVersion === '1.0' ? null : { status: 421, text: 'Misdirected Request' };
  return LOOPBACK_AUTHORITY.test(host) ? null : { status: 421, text: 'Misdirected Request' };
}

/**
 * For a WebSocket upgrade: 403 when it carries an `Origin` that is not this
 * machine's (`http://` and a loopback name, any port). Browsers always send
 * `Origin` on an upgrade; programs usually send none, which is allowed.
 * `Origin: null` (a sandboxed frame, a `file:` page) is refused.
 *
 * @returns null when the upgrade may go on.
 */
export function originRefusal(req: IncomingMessage): Refusal | null {
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  const match = /^http:\/\/([^/]+)$/i.exec(origin);
  return match !== null && LOOPBACK_AUTHORITY.test(match[1] ?? '') ? null : { status: 403, text: 'Forbidden' };
}
