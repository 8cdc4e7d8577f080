/** The update-expression builder: placeholders for every name and value, only the ones used, nothing empty. */
import { describe, expect, it } from 'vitest';
import { buildCondition, buildUpdate } from '../../shared/store/update-expression';

/** Every `#n…`/`:v…` placeholder in the expressions, for checking that each map holds exactly those used. */
function used(...expressions: (string | undefined)[]) {
  const text = expressions.join(' ');
  return {
    names: [...new Set(text.match(/#n\d+/g) ?? [])].sort(),
    values: [...new Set(text.match(/:v\d+/g) ?? [])].sort(),
  };
}

describe('buildUpdate', () => {
  it('builds SET, REMOVE and ADD clauses in that order, each name and value through a placeholder', () => {
    const u = buildUpdate({ set: { headSeq: 4, status: 'delivered' }, remove: ['dueAt', 'dueShard'], add: { roomEpoch: 1 } });
    expect(u).toEqual({
      UpdateExpression: 'SET #n0 = :v0, #n1 = :v1 REMOVE #n2, #n3 ADD #n4 :v2',
      ExpressionAttributeNames: { '#n0': 'headSeq', '#n1': 'status', '#n2': 'dueAt', '#n3': 'dueShard', '#n4': 'roomEpoch' },
      ExpressionAttributeValues: { ':v0': 4, ':v1': 'delivered', ':v2': 1 },
    });
  });

  it('takes a path into a map, one placeholder per part, so a user-chosen key is never parsed', () => {
    for (const sub of ['__proto__', 'a.b', '#x', ':y', 'constructor', 'readMarks']) {
      const u = buildUpdate({ set: [[['readMarks', sub], 7]] });
      expect(u.UpdateExpression).toBe(sub === 'readMarks' ? 'SET #n0.#n0 = :v0' : 'SET #n0.#n1 = :v0');
      expect(Object.values(u.ExpressionAttributeNames ?? {})).toEqual(sub === 'readMarks' ? ['readMarks'] : ['readMarks', sub]);
      expect(Object.hasOwn(u.ExpressionAttributeNames ?? {}, '#n1')).toBe(sub !== 'readMarks');
      expect(u.ExpressionAttributeValues).toEqual({ ':v0': 7 });
    }
  });

  it('reuses one placeholder for a name used twice (update and condition), and gives each value its own', () => {
    const u = buildUpdate({
      set: { state: 'acknowledged' },
      condition: (p) => `attribute_exists(${p.name('pk')}) AND (${p.name('state')} = ${p.value('open')} OR ${p.name('state')} = ${p.value('acknowledged')})`,
    });
    expect(u.UpdateExpression).toBe('SET #n0 = :v0');
    expect(u.ConditionExpression).toBe('attribute_exists(#n1) AND (#n0 = :v1 OR #n0 = :v2)');
    expect(u.ExpressionAttributeNames).toEqual({ '#n0': 'state', '#n1': 'pk' });
    expect(u.ExpressionAttributeValues).toEqual({ ':v0': 'acknowledged', ':v1': 'open', ':v2': 'acknowledged' });
  });

  it('defines exactly the placeholders it uses (DynamoDB refuses unused ones) and leaves out empty maps', () => {
    const onlyRemove = buildUpdate({ remove: ['claimUntil'] });
    expect(onlyRemove).toEqual({ UpdateExpression: 'REMOVE #n0', ExpressionAttributeNames: { '#n0': 'claimUntil' } });
    expect('ExpressionAttributeValues' in onlyRemove).toBe(false);
    const specs = [
      { set: { a: 1 }, remove: ['b'], add: { c: 2 }, condition: () => 'attribute_exists(pk)' },
      { set: [[['m', 'k'], null]] as const, condition: (p: { name(x: string): string; value(v: unknown): string }) => `${p.name('a')} < ${p.value(3)}` },
      { add: { n: 1 } },
    ];
    for (const spec of specs) {
      const u = buildUpdate(spec);
      const { names, values } = used(u.UpdateExpression, u.ConditionExpression);
      expect(Object.keys(u.ExpressionAttributeNames ?? {}).sort()).toEqual(names);
      expect(Object.keys(u.ExpressionAttributeValues ?? {}).sort()).toEqual(values);
    }
  });

  it('keeps SET entries in the order given', () => {
    const u = buildUpdate({ set: [['z', 1], ['a', 2], ['m', 3]] });
    expect(u.UpdateExpression).toBe('SET #n0 = :v0, #n1 = :v1, #n2 = :v2');
    expect(u.ExpressionAttributeNames).toEqual({ '#n0': 'z', '#n1': 'a', '#n2': 'm' });
  });

  it('refuses an update that changes nothing, and an empty path', () => {
    expect(() => buildUpdate({})).toThrow(RangeError);
    expect(() => buildUpdate({ set: {}, remove: [], add: {} })).toThrow(RangeError);
    expect(() => buildUpdate({ set: [[[], 1]] })).toThrow(RangeError);
  });
});

describe('buildCondition', () => {
  it('builds a condition alone, with its own placeholders', () => {
    expect(buildCondition((p) => `${p.name('state')} = ${p.value('pending')}`)).toEqual({
      ConditionExpression: '#n0 = :v0',
      ExpressionAttributeNames: { '#n0': 'state' },
      ExpressionAttributeValues: { ':v0': 'pending' },
    });
    expect(buildCondition(() => 'attribute_not_exists(pk)')).toEqual({ ConditionExpression: 'attribute_not_exists(pk)' });
  });
});
