/** A subscribe ack's catch-up cut by size (CONTRACT §5: at most 128 KiB, `more: true` when cut). */
import { describe, expect, it } from 'vitest';
import { fitCatchUp } from '../../shared/services/realtime-service';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');
const envelope = { type: 'ack', reqId: 'r-1', room: 'order:o1', headSeq: 4 };
/** Events whose text is multi-byte: 3 UTF-8 bytes a character. */
const items = [1, 2, 3].map((seq) => ({ seq, kind: 'message', text: '漢'.repeat(100) }));

describe('fitCatchUp', () => {
  it('keeps every event, and more as it was, when the whole ack fits exactly', () => {
    // Arrange
    const max = bytes({ ...envelope, items, more: false });

    // Act
    const out = fitCatchUp(envelope, { items, more: false }, max);

    // Assert
    expect(out).toEqual({ items, more: false });
  });

  it('counts UTF-8 bytes, not characters, and cuts whole events with more: true', () => {
    // Arrange: room for two events in characters but not in bytes
    const max = bytes({ ...envelope, items: items.slice(0, 2), more: true });

    // Act
    const out = fitCatchUp(envelope, { items, more: false }, max);

    // Assert
    expect(out).toEqual({ items: items.slice(0, 2), more: true });
    expect(bytes({ ...envelope, ...out })).toBeLessThanOrEqual(max);
  });

  it('cuts one event even when all would fit only because more: true is a byte shorter than more: false', () => {
    // Arrange
    const max = bytes({ ...envelope, items, more: false }) - 1;

    // Act
    const out = fitCatchUp(envelope, { items, more: false }, max);

    // Assert
    expect(out).toEqual({ items: items.slice(0, 2), more: true });
  });

  it('gives no events, with more: true, when not even the first fits', () => {
    // Act
    const out = fitCatchUp(envelope, { items, more: false }, bytes({ ...envelope, items: [], more: true }) + 10);

    // Assert
    expect(out).toEqual({ items: [], more: true });
  });
});
