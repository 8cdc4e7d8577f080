/**
 * Objects keyed by what users say. A key that comes from a user (a JSON key,
 * a `sub`, an id, a room or status name, a header or query parameter name)
 * must never become a property of an ordinary object unguarded: assigning
 * `obj["__proto__"] = 5` is silently dropped (it is Object.prototype's
 * setter, not a property), an object value there replaces the object's
 * prototype, and reading `obj["constructor"]` of an absent key answers
 * Object's own function instead of `undefined`.
 *
 * So such objects are built with no prototype (`dict`), read by own property
 * (`ownValue`), or the key is refused (`isUnsafeKey`). Pure and browser-safe:
 * the console uses it too.
 */

/**
 * Keys that name Object.prototype's machinery. Parsers that refuse unknown
 * keys refuse these by name (the SLA policy does, CONTRACT §6).
 */
export const UNSAFE_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Is `key` one of `UNSAFE_KEYS`? */
export function isUnsafeKey(key: string): boolean {
  return UNSAFE_KEYS.includes(key);
}

/**
 * A fresh object without a prototype, optionally filled from `entries`:
 * `d[userKey] = v` always makes an own property (`__proto__` included), and
 * an absent key reads as `undefined`. `JSON.stringify` and `Object.entries`
 * treat it as any plain object, so it goes over the wire unchanged.
 *
 * @param entries key-value pairs; a later pair wins over an earlier one with the same key.
 */
export function dict<V>(entries: Iterable<readonly [string, V]> = []): Record<string, V> {
  const d = Object.create(null) as Record<string, V>;
  for (const [k, v] of entries) d[k] = v;
  return d;
}

/**
 * `obj[key]` when `obj` has `key` as its own property, else `undefined`:
 * never a member inherited from Object.prototype (`constructor`,
 * `toString`, `__proto__`), whatever prototype `obj` has.
 */
export function ownValue<V>(obj: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
