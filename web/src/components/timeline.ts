/**
 * The order's timeline: created, assignments, checkpoints (place, time on the
 * device and time received, proof, reason, note) and alerts, oldest first.
 * A late checkpoint (CONTRACT §3) is marked "late" in words, with a line
 * saying it did not change the status. Messages and read marks are in the
 * conversation.
 */
import type { Destination, OrderEvent } from '../../../shared/domain/model';
import { h, type Child } from '../dom';
import { distanceM, formatDistance, formatDuration, formatPlace, formatTime, statusLabel } from '../format';
import { statusBadge } from './status';

const RECIPIENT_TYPE: Record<string, string> = {
  self: 'the recipient',
  proxy: 'someone on their behalf',
  locker: 'a parcel locker',
  neighbor: 'a neighbour',
};

function field(label: string, ...value: Child[]): HTMLElement {
  return h('div', { class: 'field' }, h('dt', null, label), h('dd', null, ...value));
}

function actorText(e: OrderEvent): string {
  return e.actor.role === 'system' ? 'Waypost' : `${e.actor.sub} (${e.actor.role})`;
}

function entry(e: OrderEvent, destination: Destination | undefined): HTMLElement | null {
  const when = h('time', { datetime: e.at }, formatTime(e.at));
  switch (e.kind) {
    case 'created':
      return h(
        'li',
        { class: 'tl tl-created', 'data-seq': e.seq },
        h('p', { class: 'tl-head' }, statusBadge('created'), ' by ', actorText(e), ' · ', when),
        h('dl', null, field('Deliver to', e.recipientName, ' · ', e.destination.address), e.promisedBy ? field('Promised by', formatTime(e.promisedBy)) : null),
      );
    case 'assigned':
      return h(
        'li',
        { class: 'tl tl-assigned', 'data-seq': e.seq },
        h('p', { class: 'tl-head' }, h('span', { class: 'tl-icon', 'aria-hidden': 'true' }, '➤'), ' Assigned to ', h('strong', null, e.driverId), e.previousDriverId ? ` (was ${e.previousDriverId})` : '', ' by ', actorText(e), ' · ', when),
      );
    case 'checkpoint': {
      const loc = e.location;
      const toDest = loc && destination?.lat !== undefined && destination.lng !== undefined ? distanceM(loc, { lat: destination.lat, lng: destination.lng }) : undefined;
      const late = e.late === true;
      return h(
        'li',
        {
          class: `tl tl-checkpoint${late ? ' tl-late' : e.statusChanged ? '' : ' tl-progress'}`,
          'data-seq': e.seq,
          'data-status': e.status,
          'data-late': late ? 'true' : undefined,
        },
        h(
          'p',
          { class: 'tl-head' },
          statusBadge(e.status),
          late ? [' ', h('span', { class: 'late-badge', title: 'Happened before the checkpoint that set the current status' }, h('span', { 'aria-hidden': 'true' }, '↶ '), 'late')] : null,
          late || e.statusChanged ? '' : ' progress update',
          ' by ',
          actorText(e),
        ),
        late
          ? h('p', { class: 'tl-late-note' }, `Arrived late; did not change the status (the order was already ${statusLabel(e.previousStatus).toLowerCase()}).`)
          : null,
        h(
          'dl',
          null,
          field('On the device', h('time', { datetime: e.occurredAt }, formatTime(e.occurredAt))),
          field('Received', when),
          loc ? field('Place', formatPlace(loc), toDest !== undefined ? ` · ${formatDistance(toDest)} from the destination` : '') : field('Place', 'not given'),
          e.reason ? field('Reason', e.reason) : null,
          e.proof
            ? field(
                'Proof',
                `Handed to ${RECIPIENT_TYPE[e.proof.recipientType] ?? e.proof.recipientType}`,
                e.proof.recipientName ? ` (${e.proof.recipientName})` : '',
                e.proof.photoKey ? ` · photo ${e.proof.photoKey}` : '',
                e.proof.signatureKey ? ` · signature ${e.proof.signatureKey}` : '',
              )
            : null,
          e.note ? field('Note', e.note) : null,
        ),
      );
    }
    case 'alert': {
      const what =
        e.state === 'open'
          ? e.level > 0
            ? `SLA alert, level ${e.level}`
            : 'SLA alert opened'
          : e.state === 'acknowledged'
            ? `SLA alert acknowledged by ${e.actor.sub}`
            : 'SLA alert resolved';
      return h(
        'li',
        { class: `tl tl-alert alert-${e.state}`, 'data-seq': e.seq },
        h('p', { class: 'tl-head' }, h('span', { class: 'tl-icon', 'aria-hidden': 'true' }, e.state === 'open' ? '⚠' : '✓'), ' ', h('strong', null, what), ' · ', when),
        h('dl', null, field('Stuck', `${formatDuration(e.stuckSeconds)} in ${statusLabel(e.status).toLowerCase()}`)),
      );
    }
    default:
      return null;
  }
}

export function timeline(events: readonly OrderEvent[], destination: Destination | undefined): HTMLElement {
  const items = events.map((e) => entry(e, destination)).filter((x): x is HTMLElement => x !== null);
  if (items.length === 0) return h('p', { class: 'muted' }, 'Nothing yet.');
  return h('ol', { class: 'timeline', 'aria-label': 'Timeline, oldest first' }, items);
}
