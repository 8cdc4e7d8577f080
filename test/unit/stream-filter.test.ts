/**
 * The local pump's Lambda event filtering: the timeline filter the CDK
 * mapping carries lets through exactly the records the fan-out's own check
 * accepts, and each comparison operator behaves as Lambda documents it.
 */
import fc from 'fast-check';
import type { DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { assertSupportedPattern, matchesPattern, passesFilters, UnsupportedFilterError, type FilterPattern } from '../../local/event-filter';
import { isTimelineInsert, TIMELINE_INSERT_FILTER } from '../../shared/store/stream-records';
import { headModify, orderRemove, timelineInsert } from '../support/stream-events';

describe('the timeline insert filter', () => {
  it('passes timeline inserts and nothing else', () => {
    expect(passesFilters(timelineInsert(), [TIMELINE_INSERT_FILTER])).toBe(true);
    expect(passesFilters(headModify(), [TIMELINE_INSERT_FILTER])).toBe(false);
    expect(passesFilters(orderRemove(), [TIMELINE_INSERT_FILTER])).toBe(false);
  });

  it('agrees with isTimelineInsert on any record', () => {
    const sortKey = fc.oneof(fc.string(), fc.string().map((s) => `E#${s}`), fc.constantFrom('HEAD', 'E', 'e#1', 'ID#E#1'));
    const record = fc.record(
      {
        eventName: fc.constantFrom('INSERT', 'MODIFY', 'REMOVE'),
        dynamodb: fc.record({ Keys: fc.record({ pk: fc.record({ S: fc.string() }), sk: fc.oneof(fc.record({ S: sortKey }), fc.record({ N: fc.string() })) }, { requiredKeys: ['pk'] }) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(record, (r) => {
        const rec = r as DynamoDBRecord;
        expect(passesFilters(rec, [TIMELINE_INSERT_FILTER])).toBe(isTimelineInsert(rec));
      }),
    );
  });
});

describe('matchesPattern', () => {
  const item = { eventName: 'MODIFY', dynamodb: { Keys: { sk: { S: 'HEAD' } }, NewImage: { status: { S: 'Picked_Up' }, tags: ['a', 'b'], size: 12, gone: null } } };

  it.each<[string, FilterPattern, boolean]>([
    ['an equal string', { eventName: ['MODIFY'] }, true],
    ['any of a list (or)', { eventName: ['INSERT', 'MODIFY'] }, true],
    ['a different string', { eventName: ['INSERT'] }, false],
    ['every field (and)', { eventName: ['MODIFY'], dynamodb: { Keys: { sk: { S: ['HEAD'] } } } }, true],
    ['every field, one failing', { eventName: ['MODIFY'], dynamodb: { Keys: { sk: { S: ['E#1'] } } } }, false],
    ['a prefix', { dynamodb: { Keys: { sk: { S: [{ prefix: 'HE' }] } } } }, true],
    ['a suffix', { dynamodb: { Keys: { sk: { S: [{ suffix: 'AD' }] } } } }, true],
    ['equals ignoring case', { dynamodb: { NewImage: { status: { S: [{ 'equals-ignore-case': 'picked_up' }] } } } }, true],
    ['anything but', { eventName: [{ 'anything-but': ['INSERT', 'REMOVE'] }] }, true],
    ['anything but the value', { eventName: [{ 'anything-but': 'MODIFY' }] }, false],
    ['numeric range', { dynamodb: { NewImage: { size: [{ numeric: ['>', 10, '<=', 12] }] } } }, true],
    ['numeric range missed', { dynamodb: { NewImage: { size: [{ numeric: ['<', 12] }] } } }, false],
    ['null', { dynamodb: { NewImage: { gone: [null] } } }, true],
    ['exists', { dynamodb: { NewImage: { size: [{ exists: true }] } } }, true],
    ['exists, missing', { dynamodb: { OldImage: [{ exists: true }] } }, false],
    ['does not exist', { dynamodb: { OldImage: [{ exists: false }] } }, true],
    ['does not exist, present', { dynamodb: { NewImage: { size: [{ exists: false }] } } }, false],
    ['does not exist, parent missing', { userIdentity: { type: [{ exists: false }] } }, true],
    ['a list in the record: any element', { dynamodb: { NewImage: { tags: ['b'] } } }, true],
    ['a list in the record: none', { dynamodb: { NewImage: { tags: ['c'] } } }, false],
    ['a missing field', { eventSource: ['aws:dynamodb'] }, false],
    ['a nested pattern on a scalar', { eventName: { S: ['MODIFY'] } }, false],
  ])('%s', (_name, pattern, expected) => {
    assertSupportedPattern(pattern);
    expect(matchesPattern(item, pattern)).toBe(expected);
  });

  it('passes a record that matches any one of several patterns, and every record when there are none', () => {
    const inserts: FilterPattern = { eventName: ['INSERT'] };
    const heads: FilterPattern = { dynamodb: { Keys: { sk: { S: ['HEAD'] } } } };
    expect(passesFilters(headModify(), [inserts, heads])).toBe(true);
    expect(passesFilters(timelineInsert(), [inserts, heads])).toBe(true);
    expect(passesFilters(orderRemove(), [inserts, heads])).toBe(false);
    expect(passesFilters(orderRemove(), [])).toBe(true);
  });
});

describe('assertSupportedPattern', () => {
  it.each<[string, unknown]>([
    ['an unknown operator', { eventName: [{ wildcard: 'IN*' }] }],
    ['two operators in one rule', { eventName: [{ prefix: 'I', suffix: 'T' }] }],
    ['a bad numeric spec', { dynamodb: { SizeBytes: [{ numeric: ['>', '1'] }] } }],
    ['an empty rule list', { eventName: [] }],
    ['a scalar where a list belongs', { eventName: 'INSERT' }],
  ])('refuses %s, naming the field', (_name, pattern) => {
    expect(() => assertSupportedPattern(pattern as FilterPattern)).toThrow(UnsupportedFilterError);
    expect(() => assertSupportedPattern(pattern as FilterPattern)).toThrow(/\$\.(eventName|dynamodb\.SizeBytes)/);
  });

  it('accepts the timeline filter', () => {
    expect(() => assertSupportedPattern(TIMELINE_INSERT_FILTER)).not.toThrow();
  });
});
