/**
 * CONTRACT §3: late checkpoints never move an order backwards, and a
 * checkpoint's device time must be within 5 minutes ahead / 7 days behind
 * the server's clock.
 */
import { describe, expect, it } from 'vitest';
import { ForbiddenError, IllegalTransitionError, ValidationError } from '../../shared/domain/errors';
import {
  checkOccurredAt,
  checkpointOutcome,
  isLate,
  OCCURRED_AT_MAX_AHEAD_MS,
  OCCURRED_AT_MAX_BEHIND_MS,
  planCheckpoint,
} from '../../shared/domain/orders';
import { withStatusClock, type SlaPolicy } from '../../shared/domain/sla';
import { caught, checkpoint, dispatcher, driver1, driver2, makeHead, retailerA } from './fixtures';

/** The server's clock in these tests. */
const NOW = '2026-11-23T10:10:00.000Z';
const NOW_MS = Date.parse(NOW);
const iso = (ms: number) => new Date(ms).toISOString();

const POLICY: SlaPolicy = {
  dwellSeconds: { in_transit: 3600, at_hub: 1800, out_for_delivery: 7200, attempt_failed: 600 },
  escalation: [{ afterSeconds: 0, notify: 'dispatch' }],
};

/** An order at a hub since 10:05 on the device (10:06 on the server), with its SLA clock running and an alert open. */
const atHub = makeHead({
  status: 'at_hub',
  statusSince: '2026-11-23T10:06:00.000Z',
  statusOccurredAt: '2026-11-23T10:05:00Z',
  dueAt: '2026-11-23T10:36:00.000Z',
  openAlertId: 'al-1',
  alertLevel: 1,
  lastLocation: { lat: 52.2, lng: 0.12 },
});

function validationField(err: unknown): string | undefined {
  const details = (err as ValidationError).details as { issues: { field: string }[] };
  return details.issues[0]?.field;
}

describe('planCheckpoint: late checkpoints (CONTRACT §3)', () => {
  it('in_transit stamped 09:50 after at_hub stamped 10:05 is recorded late and changes nothing on the head', () => {
    // Act
    const plan = planCheckpoint(driver1, atHub, checkpoint('in_transit', { occurredAt: '2026-11-23T09:50:00Z', location: { lat: 51, lng: 0 } }), NOW);

    // Assert
    expect(plan.event).toMatchObject({
      kind: 'checkpoint',
      status: 'in_transit',
      previousStatus: 'at_hub',
      statusChanged: false,
      late: true,
      occurredAt: '2026-11-23T09:50:00Z',
      location: { lat: 51, lng: 0 },
      at: NOW,
    });
    expect(plan.change).toEqual({});
    expect(checkpointOutcome(plan.event)).toEqual({ status: 'at_hub', applied: false });
  });

  it('out_for_delivery arriving after attempt_failed (which happened later) is late', () => {
    // Arrange
    const failed = makeHead({ status: 'attempt_failed', statusOccurredAt: '2026-11-23T10:00:00Z' });

    // Act
    const plan = planCheckpoint(driver1, failed, checkpoint('out_for_delivery', { occurredAt: '2026-11-23T09:40:00Z' }), NOW);

    // Assert
    expect(plan.event).toMatchObject({ status: 'out_for_delivery', previousStatus: 'attempt_failed', statusChanged: false, late: true });
    expect(plan.change).toEqual({});
  });

  it('an occurredAt equal to the current status’s is not late: the move applies', () => {
    // Act
    const plan = planCheckpoint(driver1, atHub, checkpoint('out_for_delivery', { occurredAt: '2026-11-23T10:05:00Z' }), NOW);

    // Assert
    expect(plan.event).not.toHaveProperty('late');
    expect(plan.event.statusChanged).toBe(true);
    expect(plan.change).toMatchObject({ status: 'out_for_delivery', statusSince: NOW, statusOccurredAt: '2026-11-23T10:05:00Z' });
    expect(checkpointOutcome(plan.event)).toEqual({ status: 'out_for_delivery', applied: true });
  });

  it('1 ms earlier is late', () => {
    // Act
    const plan = planCheckpoint(driver1, atHub, checkpoint('out_for_delivery', { occurredAt: '2026-11-23T10:04:59.999Z' }), NOW);

    // Assert
    expect(plan.event.late).toBe(true);
    expect(plan.change).toEqual({});
  });

  it('a late checkpoint with a status not reachable from the current one is recorded, not ILLEGAL_TRANSITION', () => {
    // Arrange: at_hub may never go to packed (nor to delivered)
    const packed = checkpoint('packed', { occurredAt: '2026-11-23T08:00:00Z' });
    const delivered = checkpoint('delivered', { occurredAt: '2026-11-23T10:04:00Z' });

    // Act
    const latePacked = planCheckpoint(dispatcher, atHub, packed, NOW);
    const lateDelivered = planCheckpoint(driver1, atHub, delivered, NOW);
    const onTime = caught(() => planCheckpoint(dispatcher, atHub, checkpoint('packed', { occurredAt: '2026-11-23T10:05:00Z' }), NOW));

    // Assert
    expect(latePacked.event).toMatchObject({ status: 'packed', late: true, statusChanged: false });
    expect(lateDelivered.event).toMatchObject({ status: 'delivered', late: true, proof: { recipientType: 'self' } });
    expect(lateDelivered.change).toEqual({});
    expect(onTime).toBeInstanceOf(IllegalTransitionError);
  });

  it('a late checkpoint on an order in a final status is recorded too', () => {
    // Arrange
    const delivered = makeHead({ status: 'delivered', statusOccurredAt: '2026-11-23T10:00:00Z' });

    // Act
    const plan = planCheckpoint(driver1, delivered, checkpoint('out_for_delivery', { occurredAt: '2026-11-23T09:30:00Z' }), NOW);

    // Assert
    expect(plan.event).toMatchObject({ late: true, previousStatus: 'delivered' });
    expect(checkpointOutcome(plan.event)).toEqual({ status: 'delivered', applied: false });
  });

  it('late never changes status, statusSince, dueAt or the alert, even through the SLA clock', () => {
    // Arrange
    const frames = [
      checkpoint('in_transit', { occurredAt: '2026-11-23T09:50:00Z', location: { lat: 1, lng: 2 } }),
      checkpoint('at_hub', { occurredAt: '2026-11-23T09:55:00Z' }),
      checkpoint('exception', { occurredAt: '2026-11-23T09:58:00Z', reason: 'damaged' }),
    ];

    for (const frame of frames) {
      // Act
      const plan = withStatusClock(atHub, planCheckpoint(dispatcher, atHub, frame, NOW), POLICY, new Date(NOW));

      // Assert
      expect(plan.event).toMatchObject({ late: true, statusChanged: false });
      expect(plan.change).toEqual({});
      expect(plan.followUp).toBeUndefined();
      expect(plan.alert).toBeUndefined();
    }
  });

  it('compares instants, not strings, across zone offsets', () => {
    // Arrange: 10:05+01:00 is 09:05Z, so 09:50Z is after it (a string comparison says before)
    const offsetHead = makeHead({ status: 'at_hub', statusOccurredAt: '2026-11-23T10:05:00+01:00' });
    // 10:50+01:00 is 09:50Z, before 10:05Z (a string comparison says after)
    const zuluHead = makeHead({ status: 'at_hub', statusOccurredAt: '2026-11-23T10:05:00Z' });

    // Act
    const after = planCheckpoint(driver1, offsetHead, checkpoint('out_for_delivery', { occurredAt: '2026-11-23T09:50:00Z' }), NOW);
    const before = planCheckpoint(driver1, zuluHead, checkpoint('in_transit', { occurredAt: '2026-11-23T10:50:00+01:00' }), NOW);
    const same = planCheckpoint(driver1, zuluHead, checkpoint('out_for_delivery', { occurredAt: '2026-11-23T05:05:00-05:00' }), NOW);

    // Assert
    expect(after.event).not.toHaveProperty('late');
    expect(after.change.status).toBe('out_for_delivery');
    expect(before.event.late).toBe(true);
    expect(same.event).not.toHaveProperty('late');
    expect(same.change.status).toBe('out_for_delivery');
  });

  it('an order with no statusOccurredAt (status set at creation, or an old head) has nothing late', () => {
    // Arrange
    const fresh = makeHead({ status: 'created', driverId: undefined, pickedUpAt: undefined });
    const old = makeHead({ status: 'at_hub' });
    const weekOld = iso(NOW_MS - OCCURRED_AT_MAX_BEHIND_MS);

    // Act
    const moved = planCheckpoint(dispatcher, fresh, checkpoint('picked_up', { occurredAt: weekOld }), NOW);
    const illegal = caught(() => planCheckpoint(dispatcher, old, checkpoint('packed', { occurredAt: weekOld }), NOW));

    // Assert
    expect(fresh).not.toHaveProperty('statusOccurredAt');
    expect(isLate(fresh, 0)).toBe(false);
    expect(moved.event).not.toHaveProperty('late');
    expect(moved.change).toMatchObject({ status: 'picked_up', statusOccurredAt: weekOld });
    expect(illegal).toBeInstanceOf(IllegalTransitionError);
  });

  it('a progress update keeps statusOccurredAt; only a move sets it', () => {
    // Act
    const progress = planCheckpoint(driver1, atHub, checkpoint('at_hub', { occurredAt: '2026-11-23T10:08:00Z', location: { lat: 3, lng: 4 } }), NOW);

    // Assert
    expect(progress.event).not.toHaveProperty('late');
    expect(progress.change).toEqual({ lastLocation: { lat: 3, lng: 4 } });
    expect(checkpointOutcome(progress.event)).toEqual({ status: 'at_hub', applied: true });
  });

  it('authorization comes first: a principal who may not post that status gets FORBIDDEN, late or not', () => {
    // Act
    const otherDriver = caught(() => planCheckpoint(driver2, atHub, checkpoint('in_transit', { occurredAt: '2026-11-23T09:50:00Z' }), NOW));
    const retailer = caught(() => planCheckpoint(retailerA, atHub, checkpoint('in_transit', { occurredAt: '2026-11-23T09:50:00Z' }), NOW));
    const outOfBounds = caught(() => planCheckpoint(driver2, atHub, checkpoint('in_transit', { occurredAt: '2026-01-01T00:00:00Z' }), NOW));

    // Assert
    expect(otherDriver).toBeInstanceOf(ForbiddenError);
    expect(retailer).toBeInstanceOf(ForbiddenError);
    expect(outOfBounds).toBeInstanceOf(ForbiddenError);
  });
});

describe('occurredAt bounds (CONTRACT §3)', () => {
  it('names the limits 5 minutes and 7 days', () => {
    expect(OCCURRED_AT_MAX_AHEAD_MS).toBe(300_000);
    expect(OCCURRED_AT_MAX_BEHIND_MS).toBe(604_800_000);
  });

  it('exactly 5 minutes ahead is accepted; 5 minutes and 1 second ahead is VALIDATION naming occurredAt', () => {
    // Act
    const edge = planCheckpoint(driver1, atHub, checkpoint('out_for_delivery', { occurredAt: iso(NOW_MS + 5 * 60_000) }), NOW);
    const err = caught(() => planCheckpoint(driver1, atHub, checkpoint('out_for_delivery', { occurredAt: iso(NOW_MS + 5 * 60_000 + 1000) }), NOW));

    // Assert
    expect(edge.change.status).toBe('out_for_delivery');
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).code).toBe('VALIDATION');
    expect((err as ValidationError).message).toContain('"occurredAt"');
    expect((err as ValidationError).message).toMatch(/ahead/);
    expect(validationField(err)).toBe('occurredAt');
  });

  it('exactly 7 days behind is accepted; 7 days and 1 second behind is VALIDATION naming occurredAt', () => {
    // Arrange: an order whose status has no device time, so nothing is late
    const head = makeHead({ status: 'at_hub' });

    // Act
    const edge = planCheckpoint(driver1, head, checkpoint('out_for_delivery', { occurredAt: iso(NOW_MS - OCCURRED_AT_MAX_BEHIND_MS) }), NOW);
    const err = caught(() =>
      planCheckpoint(driver1, head, checkpoint('out_for_delivery', { occurredAt: iso(NOW_MS - OCCURRED_AT_MAX_BEHIND_MS - 1000) }), NOW),
    );

    // Assert
    expect(edge.change.status).toBe('out_for_delivery');
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).message).toContain('"occurredAt"');
    expect((err as ValidationError).message).toMatch(/behind/);
    expect(validationField(err)).toBe('occurredAt');
  });

  it('applies to late checkpoints too: a late one more than 7 days old is VALIDATION, not recorded', () => {
    // Act
    const err = caught(() => planCheckpoint(driver1, atHub, checkpoint('in_transit', { occurredAt: '2026-11-16T10:09:59Z' }), NOW));

    // Assert
    expect(err).toBeInstanceOf(ValidationError);
    expect(validationField(err)).toBe('occurredAt');
  });

  it('compares instants across zone offsets', () => {
    // Act + Assert: 11:15+01:00 is 10:15Z, exactly 5 minutes ahead; 11:15:01+01:00 is past it
    expect(checkOccurredAt('2026-11-23T11:15:00+01:00', NOW)).toBe(Date.parse('2026-11-23T10:15:00Z'));
    expect(validationField(caught(() => checkOccurredAt('2026-11-23T11:15:01+01:00', NOW)))).toBe('occurredAt');
    // 05:15-05:00 is 10:15Z too
    expect(checkOccurredAt('2026-11-23T05:15:00-05:00', NOW)).toBe(Date.parse('2026-11-23T10:15:00Z'));
  });
});
