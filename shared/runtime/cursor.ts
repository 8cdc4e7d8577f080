/**
 * List cursors (CONTRACT §4): opaque to the client, valid only for the tenant
 * and the query that issued them. A cursor is
 * `<base64url(position)>.<base64url(HMAC-SHA256(key, binding and position))>`,
 * where the binding (the list, the tenant, the caller's scope, the filters)
 * is not in the cursor at all: it is taken from the request that brings the
 * cursor back, so a cursor from another tenant, scope or filter fails its
 * MAC like a tampered one.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../domain/errors';

/** The longest cursor read, in characters; a longer one is refused before any work. */
export const CURSOR_MAX_CHARS = 2048;

/** HMAC-SHA256's output, in bytes. */
const MAC_BYTES = 32;

/** Domain separation: the MAC input's first element, and the HKDF `info` of the key (`cursorKeyFrom`). */
const LABEL = 'waypost/list-cursor/v1';

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The 32-byte cursor key from a secret: HKDF-SHA256 (RFC 5869) with an empty
 * salt and the info `waypost/list-cursor/v1`, so the key is never the secret
 * itself (the JWT secret may be what is given) and a key derived for anything
 * else from the same secret differs.
 *
 * @param secret any non-empty string; its strength is the key's.
 */
export function cursorKeyFrom(secret: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', Buffer.from(secret, 'utf8'), Buffer.alloc(0), Buffer.from(LABEL, 'utf8'), 32));
}

/** A cursor that this deployment did not issue for this tenant and query: `400 VALIDATION`, `details.field: "cursor"`. */
export class InvalidCursorError extends ValidationError {
  constructor(why: string) {
    const message = `is not a cursor this list gave for this query (${why}); list again without it`;
    super(`Invalid query: "cursor" ${message}.`, { field: 'cursor', issues: [{ field: 'cursor', message }] });
  }
}

/** Decode strict base64url (the form `seal` writes, no padding), or null. */
function base64url(text: string): Buffer | null {
  if (!BASE64URL.test(text)) return null;
  const bytes = Buffer.from(text, 'base64url');
  // Node decodes leniently (trailing bits, a lone last character): only the canonical spelling counts.
  return bytes.toString('base64url') === text ? bytes : null;
}

export class CursorCodec {
  private readonly key: Buffer;

  /**
   * @param key the HMAC key, at least 32 bytes (`cursorKeyFrom`). Every
   *   process serving one list must have the same key, or a cursor from one
   *   is refused by another.
   * @throws RangeError for a shorter key.
   */
  constructor(key: Uint8Array) {
    if (key.length < 32) throw new RangeError('a cursor key has at least 32 bytes');
    this.key = Buffer.from(key);
  }

  /** A codec with a random key: cursors it seals are good only in this process (tests, tools). */
  static ephemeral(): CursorCodec {
    return new CursorCodec(randomBytes(32));
  }

  /**
   * A cursor for `position`, valid only where `binding` is the same.
   *
   * @param position where the next page starts, as the store spells it (UTF-8 text).
   * @param binding what the cursor is bound to, e.g. `['orders', tenant, scope, status, stalled]`.
   */
  seal(position: string, binding: readonly string[]): string {
    const body = Buffer.from(position, 'utf8').toString('base64url');
    return `${body}.${this.mac(body, binding).toString('base64url')}`;
  }

  /**
   * The position in a cursor from `seal` with the same binding.
   *
   * @throws InvalidCursorError (`400 VALIDATION`, `details.field: "cursor"`)
   *   for anything else: too long, not two base64url parts, a MAC that does
   *   not match (tampered, truncated, or sealed for another tenant, scope or
   *   filter), or a position that is not UTF-8 text.
   */
  open(cursor: string, binding: readonly string[]): string {
    if (cursor.length > CURSOR_MAX_CHARS) throw new InvalidCursorError(`longer than ${CURSOR_MAX_CHARS} characters`);
    const parts = cursor.split('.');
    const body = parts[0] ?? '';
    const position = parts.length === 2 ? base64url(body) : null;
    const mac = parts.length === 2 ? base64url(parts[1] ?? '') : null;
    if (position === null || mac === null) throw new InvalidCursorError('malformed');
    if (mac.length !== MAC_BYTES || !timingSafeEqual(mac, this.mac(body, binding))) throw new InvalidCursorError('not signed for it');
    const text = position.toString('utf8');
    // Sealed by us, so this holds; checked anyway, as nothing unchecked goes to storage.
    if (Buffer.from(text, 'utf8').toString('base64url') !== body) throw new InvalidCursorError('malformed');
    return text;
  }

  private mac(body: string, binding: readonly string[]): Buffer {
    // A JSON array: one spelling per (binding, position), so no two inputs share a MAC input.
    return createHmac('sha256', this.key).update(JSON.stringify([LABEL, ...binding, body])).digest();
  }
}
