/**
 * "One id, one request" (CONTRACT §4 for order ids, §5 for event and message
 * ids): a request is remembered by a digest of what it asked for, so the same
 * id sent again can be told apart as a true replay (same request: acked as a
 * duplicate) or another request under a used id (CONFLICT).
 *
 * The digest is SHA-256 over a canonical JSON form: object keys sorted (so key
 * order never matters), members whose value is `undefined` left out, arrays
 * in order. This module uses `node:crypto`, like `sla.ts`: the console does
 * not import it (its bundle is built for the browser and would fail to build
 * if it did); the console never computes a digest.
 */
import { createHash } from 'node:crypto';

/**
 * The canonical JSON text of a JSON value: the same data gives the same text
 * whatever order its object keys came in. Object keys are sorted by UTF-16
 * code unit (`<`), members whose value is `undefined` are left out (as
 * `JSON.stringify` does), array items keep their order (`undefined` items
 * become `null`). The text is built directly, never through an object keyed
 * by the input's keys, so a key such as `__proto__` is data like any other.
 *
 * @param value JSON data (what `JSON.parse` or a zod parse returns): plain
 *   objects, arrays, strings, finite numbers, booleans, null.
 * @returns the canonical text; `JSON.parse` of it equals `value`.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const members = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The one canonical digest: SHA-256 of `canonicalJson(value)`, base64url
 * (43 characters). Order creation (`digestCreate`) and checkpoint and message
 * ids (`requestDigest`) both use it.
 */
export function canonicalDigest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value), 'utf8').digest('base64url');
}

/** What an event or message id can stand for (CONTRACT §5: one namespace per order). */
export type IdempotentKind = 'checkpoint' | 'message';

/** A request as it is judged against an id seen before: its kind and its digest. */
export interface RequestIdentity {
  readonly kind: IdempotentKind;
  /** `requestDigest(kind, frame)`. */
  readonly digest: string;
}

/**
 * What is stored with an id: the kind of request that used it and, since
 * digests were introduced, that request's digest. Keys written earlier have
 * no digest.
 */
export interface StoredRequestIdentity {
  readonly kind: string;
  readonly digest?: string;
}

/**
 * The digest of a checkpoint or message frame as CONTRACT §5 compares them:
 * every field but `reqId` counts, and `action` is replaced by `kind`, so a
 * message and a checkpoint never have the same digest whatever their other
 * fields. Nothing about who sent it is in it: who may replay is a matter of
 * rights (`OrdersService`), not of the request.
 *
 * @param kind `checkpoint` or `message`.
 * @param frame the frame as parsed (`checkpointFrameSchema`,
 *   `messageFrameSchema`): unknown fields are already gone, so they never count.
 * @returns a base64url SHA-256 digest.
 */
export function requestDigest(kind: IdempotentKind, frame: { readonly reqId?: string; readonly action?: string }): string {
  const { reqId: _reqId, action: _action, ...request } = frame;
  return canonicalDigest({ kind, request });
}

/**
 * Is the request under a used id the same request as the one stored (a true
 * replay), or another one (CONFLICT, CONTRACT §5)? Pure.
 *
 * - Kinds differ (a message's id reused for a checkpoint, or back): another request.
 * - Both have digests: the same request exactly when the digests are equal.
 * - The stored key has no digest (written before digests existed): the kind
 *   alone decides, as it did then, since the old request cannot be compared.
 *
 * @returns `duplicate` for a true replay, `conflict` otherwise.
 */
export function judgeReplay(stored: StoredRequestIdentity, incoming: RequestIdentity): 'duplicate' | 'conflict' {
  if (stored.kind !== incoming.kind) return 'conflict';
  if (stored.digest === undefined) return 'duplicate';
  return stored.digest === incoming.digest ? 'duplicate' : 'conflict';
}
