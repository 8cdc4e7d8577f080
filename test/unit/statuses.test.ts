import { describe, expect, it } from 'vitest';
import { checkpointFrameSchema, parseOrThrow } from '../../shared/domain/schemas';
import { ValidationError } from '../../shared/domain/errors';
import {
  allowedNext,
  classifyTransition,
  FINAL_STATUSES,
  isStatus,
  STATUS_TABLE,
  STATUSES,
  type Status,
} from '../../shared/domain/statuses';
import { caught, rawCheckpoint } from './fixtures';

/**
 * CONTRACT §3, copied by hand from the contract's table. Deliberately not
 * derived from STATUS_TABLE so that a drift between the two fails here.
 */
const CONTRACT_TABLE: Record<string, readonly string[]> = {
  created: ['picking', 'packed', 'picked_up', 'cancelled', 'exception'],
  picking: ['packed', 'cancelled', 'exception'],
  packed: ['picked_up', 'cancelled', 'exception'],
  picked_up: ['in_transit', 'at_hub', 'out_for_delivery', 'exception'],
  in_transit: ['at_hub', 'exception'],
  at_hub: ['in_transit', 'out_for_delivery', 'exception'],
  out_for_delivery: ['delivered', 'attempt_failed', 'exception'],
  attempt_failed: ['out_for_delivery', 'at_hub', 'returning', 'exception'],
  exception: ['picked_up', 'in_transit', 'at_hub', 'out_for_delivery', 'returning', 'cancelled'],
  delivered: ['followed_up'],
  returning: ['returned', 'exception'],
  returned: [],
  cancelled: [],
  followed_up: [],
};
const CONTRACT_STATUSES = Object.keys(CONTRACT_TABLE);
const CONTRACT_FINAL = ['returned', 'cancelled', 'followed_up'];
/** Statuses whose checkpoint must carry a field (CONTRACT §3 "meaning" column). */
const CONTRACT_REQUIRES: Record<string, 'reason' | 'proof'> = {
  attempt_failed: 'reason',
  exception: 'reason',
  delivered: 'proof',
};

function expectedKind(from: string, to: string): 'progress' | 'move' | 'illegal' {
  if (from === to) return 'progress';
  return (CONTRACT_TABLE[from] ?? []).includes(to) ? 'move' : 'illegal';
}

const ALL_PAIRS: [Status, Status][] = STATUSES.flatMap((from) => STATUSES.map((to): [Status, Status] => [from, to]));

describe('the status list', () => {
  it('holds exactly the 14 statuses of CONTRACT §3, in table order', () => {
    // Arrange
    const expected = CONTRACT_STATUSES;

    // Act
    const actual = [...STATUSES];

    // Assert
    expect(actual).toEqual(expected);
    expect(actual).toHaveLength(14);
  });

  it('isStatus accepts every contract status and nothing else', () => {
    // Arrange
    const notStatuses: unknown[] = ['', 'CREATED', 'lost', 'delivered ', 3, null, undefined, {}, ['created']];

    // Act
    const accepted = CONTRACT_STATUSES.map((s) => isStatus(s));
    const rejected = notStatuses.map((v) => isStatus(v));

    // Assert
    expect(accepted.every(Boolean)).toBe(true);
    expect(rejected.some(Boolean)).toBe(false);
  });
});

describe('classifyTransition over every (from, to) pair', () => {
  it('covers all 196 pairs', () => {
    expect(ALL_PAIRS).toHaveLength(14 * 14);
  });

  it.each(ALL_PAIRS)('%s -> %s matches CONTRACT §3', (from, to) => {
    // Arrange
    const expected = expectedKind(from, to);

    // Act
    const actual = classifyTransition(from, to);

    // Assert
    expect(actual).toBe(expected);
  });
});

describe('allowedNext', () => {
  it.each(STATUSES.map((s) => [s]))('%s allows itself (progress) and exactly its contract successors', (from) => {
    // Arrange
    const expected = [from, ...(CONTRACT_TABLE[from] ?? [])].sort();

    // Act
    const actual = [...allowedNext(from)].sort();

    // Assert
    expect(actual).toEqual(expected);
  });

  it('puts the current status first, so a progress update is always allowed', () => {
    for (const s of STATUSES) {
      // Act
      const next = allowedNext(s);

      // Assert
      expect(next[0]).toBe(s);
      expect(new Set(next).size).toBe(next.length);
    }
  });
});

describe('final statuses', () => {
  it('are exactly returned, cancelled and followed_up', () => {
    // Act
    const finals = [...FINAL_STATUSES].sort();

    // Assert
    expect(finals).toEqual([...CONTRACT_FINAL].sort());
  });

  it.each(CONTRACT_FINAL.map((s) => [s as Status]))('%s moves nowhere but itself', (final) => {
    // Act
    const moves = STATUSES.filter((to) => classifyTransition(final, to) === 'move');

    // Assert
    expect(moves).toEqual([]);
    expect(allowedNext(final)).toEqual([final]);
  });
});

describe('STATUS_TABLE[s].requires agrees with the contract and the checkpoint schema', () => {
  it.each(STATUSES.map((s) => [s]))('%s', (status) => {
    // Arrange
    const required = CONTRACT_REQUIRES[status];
    const bare = {
      action: 'checkpoint',
      eventId: 'evt-1',
      orderId: 'ord-1',
      status,
      occurredAt: '2024-05-01T10:00:00Z',
    };

    // Act
    const requires = [...STATUS_TABLE[status].requires];
    const bareResult = checkpointFrameSchema.safeParse(bare);
    const fullResult = checkpointFrameSchema.safeParse(rawCheckpoint(status));

    // Assert
    expect(requires).toEqual(required === undefined ? [] : [required]);
    expect(fullResult.success).toBe(true);
    if (required === undefined) {
      expect(bareResult.success).toBe(true);
    } else {
      expect(bareResult.success).toBe(false);
      const err = caught(() => parseOrThrow(checkpointFrameSchema, bare, 'checkpoint'));
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).message).toContain(`"${required}"`);
    }
  });
});
