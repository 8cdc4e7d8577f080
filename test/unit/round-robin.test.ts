/** The SLA sweep's fairness rule: one of each tenant in turn, at most a budget of each. */
import { describe, expect, it } from 'vitest';
import { roundRobin } from '../../shared/services/sla-service';

describe('roundRobin', () => {
  it('takes one of each key in turn, keeping each key\'s own order', () => {
    const items = ['a1', 'a2', 'a3', 'b1', 'a4', 'c1', 'b2'];
    expect(roundRobin(items, (i) => i[0]!).taken).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'a3', 'a4']);
  });

  it('takes at most the budget of each key and returns the rest apart', () => {
    const noisy = Array.from({ length: 50 }, (_, i) => `n${i}`);
    const { taken, left } = roundRobin([...noisy, 'q1'], (i) => i[0]!, 20);
    expect(taken.slice(0, 2)).toEqual(['n0', 'q1']);
    expect(taken).toHaveLength(21);
    expect(left).toEqual(noisy.slice(20));
  });

  it('gives nothing for nothing', () => {
    expect(roundRobin([], () => 'x', 3)).toEqual({ taken: [], left: [] });
  });
});
