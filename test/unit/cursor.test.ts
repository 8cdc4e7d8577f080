/**
 * List cursors (CONTRACT §4): sealed with an HMAC over the binding (tenant,
 * scope, filters) and the position; anything else is `400 VALIDATION` with
 * `details.field: "cursor"`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CURSOR_MAX_CHARS, CursorCodec, cursorKeyFrom, InvalidCursorError } from '../../shared/runtime/cursor';
import { caught } from './fixtures';

const codec = new CursorCodec(cursorKeyFrom('unit-test-secret'));
const binding = ['orders', 'acme', 'tenant', '', ''];
const position = '2026-11-30T10:00:00.000Z#ord-1';

function expectRefused(cursor: string, bind: readonly string[] = binding, by: CursorCodec = codec): void {
  const err = caught(() => by.open(cursor, bind));
  expect(err, JSON.stringify(cursor.slice(0, 80))).toBeInstanceOf(InvalidCursorError);
  const e = err as InvalidCursorError;
  expect(e.code).toBe('VALIDATION');
  expect(e.httpStatus).toBe(400);
  expect(e.details).toMatchObject({ field: 'cursor' });
  expect(e.message).toContain('"cursor"');
}

describe('CursorCodec', () => {
  it('opens what it sealed, for the same binding', () => {
    const cursor = codec.seal(position, binding);
    expect(codec.open(cursor, binding)).toBe(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  });

  it('round-trips any text position (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.array(fc.string(), { maxLength: 5 }), (pos, bind) => {
        expect(codec.open(codec.seal(pos, bind), bind)).toBe(pos);
      }),
      { numRuns: 200, seed: 11 },
    );
  });

  it.each([
    ['another tenant', ['orders', 'other', 'tenant', '', '']],
    ['another scope', ['orders', 'acme', 'retailer:ret-A', '', '']],
    ['another status filter', ['orders', 'acme', 'tenant', 'delivered', '']],
    ['the stalled filter', ['orders', 'acme', 'tenant', '', 'stalled']],
    ['another list', ['alerts', 'acme', 'tenant', '', '']],
    ['elements run together', ['orders', 'acmetenant', '', '', '']],
  ])('refuses a cursor sealed for the same position under %s', (_name, other) => {
    expectRefused(codec.seal(position, binding), other);
  });

  it('refuses a cursor sealed with another key', () => {
    expectRefused(new CursorCodec(cursorKeyFrom('another-secret')).seal(position, binding));
  });

  it('refuses every single-character change, truncation and extension', () => {
    const cursor = codec.seal(position, binding);
    const alphabet = 'AQgw_-.=+/ ';
    for (let i = 0; i < cursor.length; i++) {
      for (const c of alphabet) {
        if (cursor[i] === c) continue;
        const changed = cursor.slice(0, i) + c + cursor.slice(i + 1);
        // A change in the last character's unused low bits decodes to the same bytes: refused as non-canonical.
        expectRefused(changed);
      }
      expectRefused(cursor.slice(0, i));
    }
    for (const extra of ['A', '.', '=', '==', '.x']) expectRefused(cursor + extra);
  });

  it('refuses garbage: empty, non-base64, a forged DynamoDB key, JSON, too long', () => {
    const forgedKey = Buffer.from(JSON.stringify({ pk: 'T#other#O#x', sk: 'HEAD', gsiTenant: 'T#other', gsiCreated: 'x' })).toString('base64url');
    for (const bad of ['', '.', '..', 'a.b.c', 'not base64!.x', '%%%', forgedKey, `${forgedKey}.${'A'.repeat(43)}`, '{"pk":"x"}', 'x'.repeat(CURSOR_MAX_CHARS + 1)]) {
      expectRefused(bad);
    }
    const long = caught(() => codec.open('x'.repeat(CURSOR_MAX_CHARS + 1), binding)) as InvalidCursorError;
    expect(long.message).toContain(String(CURSOR_MAX_CHARS));
  });

  it('refuses a key under 32 bytes', () => {
    expect(() => new CursorCodec(new Uint8Array(31))).toThrow(RangeError);
  });

  it('derives different keys from different secrets, and never the secret bytes', () => {
    const a = cursorKeyFrom('secret-a');
    expect(a).toHaveLength(32);
    expect(a).not.toEqual(cursorKeyFrom('secret-b'));
    expect(Buffer.from(a).toString('utf8')).not.toContain('secret-a');
  });
});
