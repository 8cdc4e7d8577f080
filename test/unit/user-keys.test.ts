/**
 * Keys that come from users never become unguarded object properties: read
 * marks are keyed by sub, and a sub may be `__proto__` or `constructor`.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { orderView, planRead, readMarkOf, withReadMark } from '../../shared/domain/orders';
import { dict, isUnsafeKey, ownValue, UNSAFE_KEYS } from '../../shared/domain/user-keys';
import { apiQuery, flatHeaders } from '../../local/gateway';
import { applyChange, headFromItem, headItemFromAttributes } from '../../shared/store/orders-items';
import { dispatcher, makeHead, T1 } from './fixtures';

const proto = { ...dispatcher, sub: '__proto__' };

describe('dict and ownValue', () => {
  it('keep every user key as an own key and never answer with Object.prototype members', () => {
    const d = dict<number>();
    for (const k of [...UNSAFE_KEYS, 'toString', 'hasOwnProperty']) d[k] = k.length;
    expect(Object.keys(d).sort()).toEqual(['__proto__', 'constructor', 'hasOwnProperty', 'prototype', 'toString']);
    expect(JSON.parse(JSON.stringify(d))).toEqual(JSON.parse('{"__proto__":9,"constructor":11,"prototype":9,"toString":8,"hasOwnProperty":14}'));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    const plain: Record<string, number> = { a: 1 };
    for (const k of ['__proto__', 'constructor', 'toString', 'valueOf']) {
      expect(ownValue(plain, k)).toBeUndefined();
      expect(dict<number>()[k]).toBeUndefined();
    }
    expect(ownValue(plain, 'a')).toBe(1);
    expect(isUnsafeKey('__proto__') && isUnsafeKey('constructor') && isUnsafeKey('prototype')).toBe(true);
    expect(isUnsafeKey('proto')).toBe(false);
  });
});

describe('read marks of a sub named like Object.prototype machinery', () => {
  it('a sub that has read nothing has no mark, whatever its name', () => {
    const head = makeHead({ readMarks: { 'drv-1': 2 } });
    for (const sub of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      expect(readMarkOf(head, sub)).toBeUndefined();
      // So their first read is recorded, not mistaken for one already made.
      expect(planRead({ ...dispatcher, sub }, head, 1, T1)?.change).toEqual({ readMark: { sub, seq: 1 } });
    }
  });

  it("keeps a `__proto__` reader's mark from the stored item through applyChange and orderView to the JSON sent", () => {
    // A head item as DynamoDB answers it: the SDK's deserializer keeps `__proto__` as an own key, as JSON.parse does.
    const raw = JSON.parse(
      '{"pk":{"S":"T#acme#O#ord-1"},"sk":{"S":"HEAD"},"orderId":{"S":"ord-1"},"headSeq":{"N":"5"},' +
        '"readMarks":{"M":{"__proto__":{"N":"4"},"drv-1":{"N":"2"}}}}',
    ) as Record<string, AttributeValue>;
    const stored = headFromItem(headItemFromAttributes(raw));
    expect(stored).toMatchObject({ orderId: 'ord-1', headSeq: 5 });
    const head = makeHead({ readMarks: stored.readMarks });
    expect(readMarkOf(head, '__proto__')).toBe(4);
    expect(readMarkOf(head, 'drv-1')).toBe(2);
    // A read at or below the mark records nothing.
    expect(planRead(proto, head, 3, T1)).toBeNull();

    // Another reader's read: the `__proto__` mark stays, the head read before is left as it was.
    const after = applyChange(head, { readMark: { sub: 'drv-2', seq: 5 } }, 6, T1);
    expect(Object.entries(after.readMarks).sort()).toEqual([
      ['__proto__', 4],
      ['drv-1', 2],
      ['drv-2', 5],
    ]);
    expect(Object.keys(head.readMarks).sort()).toEqual(['__proto__', 'drv-1']);

    // The `__proto__` reader moves on.
    const moved = applyChange(after, { readMark: { sub: '__proto__', seq: 6 } }, 7, T1);
    expect(readMarkOf(moved, '__proto__')).toBe(6);

    const sent = JSON.parse(JSON.stringify(orderView(dispatcher, moved))) as { readMarks: Record<string, number> };
    expect(Object.hasOwn(sent.readMarks, '__proto__')).toBe(true);
    expect(Object.entries(sent.readMarks).sort()).toEqual([
      ['__proto__', 6],
      ['drv-1', 2],
      ['drv-2', 5],
    ]);
    expect(({} as Record<string, unknown>).drv).toBeUndefined();
  });

  it('withReadMark and orderView copy: the marks they were given are left alone', () => {
    const marks = JSON.parse('{"__proto__":1}') as Record<string, number>;
    const next = withReadMark(marks, '__proto__', 2);
    expect(ownValue(next, '__proto__')).toBe(2);
    expect(ownValue(marks, '__proto__')).toBe(1);
    const view = orderView(dispatcher, makeHead({ readMarks: next }));
    view.readMarks['__proto__'] = 9;
    expect(ownValue(next, '__proto__')).toBe(2);
  });
});

describe('the local gateway: query and header names are the client\'s', () => {
  it('builds queryStringParameters by own key: ?constructor=a is "a", not Object\'s function joined with "a"', () => {
    const query = apiQuery(new URLSearchParams('constructor=a&toString=b&__proto__=c&hasOwnProperty=d&x=1&x=2'));
    expect(Object.entries(query).sort()).toEqual([
      ['__proto__', 'c'],
      ['constructor', 'a'],
      ['hasOwnProperty', 'd'],
      ['toString', 'b'],
      ['x', '1,2'],
    ]);
    expect(ownValue(apiQuery(new URLSearchParams('status=created')), 'constructor')).toBeUndefined();
  });

  it('keeps every header name, lower-cased, repeated values joined', () => {
    const headers = flatHeaders(JSON.parse('{"__proto__":"p","Constructor":"c","x-many":["1","2"]}') as Record<string, string | string[]>);
    expect(Object.entries(headers).sort()).toEqual([
      ['__proto__', 'p'],
      ['constructor', 'c'],
      ['x-many', '1,2'],
    ]);
    expect(headers['authorization']).toBeUndefined();
  });
});
