import { describe, expect, it } from 'vitest';
import { RecentMap } from '../../shared/runtime/recent-map';

describe('RecentMap', () => {
  it('keeps only the most recently set keys', () => {
    const m = new RecentMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('c', 3);
    expect([m.has('a'), m.get('b'), m.get('c'), m.size]).toEqual([false, 2, 3, 2]);
  });

  it('setting a key again makes it the most recent', () => {
    const m = new RecentMap<string, number>(2);
    m.set('a', 1);
    m.set('b', 2);
    m.set('a', 10);
    m.set('c', 3);
    expect([m.get('a'), m.has('b'), m.get('c')]).toEqual([10, false, 3]);
  });

  it('forgets a deleted key', () => {
    const m = new RecentMap<string, number>(2);
    m.set('a', 1);
    m.delete('a');
    expect([m.has('a'), m.get('a'), m.size]).toEqual([false, undefined, 0]);
  });
});
