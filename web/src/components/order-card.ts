/** One order as a card: id (a link to its page), status, who and where, SLA countdown, stalled flag. */
import type { OrderView } from '../../../shared/domain/model';
import { acceptsAssignment } from '../../../shared/domain/statuses';
import { describeError } from '../api';
import { orderHref } from '../context';
import { h } from '../dom';
import { statusKind } from '../format';
import { slaLine, statusBadge } from './status';

export interface CardOptions {
  /** Dispatchers: assign a driver from the card (offered only while the order accepts one: not delivered, not final). */
  readonly assign?: (orderId: string, driverId: string) => Promise<void>;
  /** Shown as the driver of the card (drivers see a phone link instead). */
  readonly showRetailer?: boolean;
  readonly showPhone?: boolean;
  readonly waiting?: number;
  /** Off on the board, where the group already names the status. */
  readonly hideStatus?: boolean;
  /** Off for drivers: every card is theirs. */
  readonly hideDriver?: boolean;
}

/** What a card shows: when this changes the card is redrawn; otherwise it is left alone. */
export function cardKey(o: OrderView, opts: CardOptions = {}): string {
  return JSON.stringify([o.status, o.statusSince, o.driverId, o.openAlertId, o.dueAt, o.recipient, o.destination.address, opts.waiting]);
}

export function orderCard(o: OrderView, opts: CardOptions = {}): HTMLElement {
  const stalled = o.openAlertId !== undefined;
  let assign: HTMLElement | null = null;
  // A delivered or final order takes no driver (CONTRACT §4: 409): no control for it.
  if (opts.assign && acceptsAssignment(o.status)) {
    const inputId = `assign-${o.orderId}`;
    const input = h('input', { id: inputId, name: 'driverId', list: 'known-drivers', required: true, maxlength: 128, autocomplete: 'off', value: o.driverId ?? '' });
    const note = h('span', { class: 'form-note', role: 'status', 'aria-live': 'polite' });
    const button = h('button', { type: 'submit' }, o.driverId ? 'Reassign' : 'Assign');
    const doAssign = opts.assign;
    assign = h(
      'details',
      { class: 'assign' },
      h('summary', null, o.driverId ? 'Change driver' : 'Assign a driver'),
      h(
        'form',
        {
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            const driverId = input.value.trim();
            if (driverId === '') return;
            button.disabled = true;
            note.textContent = 'Assigning…';
            doAssign(o.orderId, driverId).then(
              () => (note.textContent = `Assigned to ${driverId}.`),
              (err: unknown) => {
                note.textContent = describeError(err);
                button.disabled = false;
              },
            );
          },
        },
        h('label', { for: inputId }, 'Driver id'),
        input,
        button,
        note,
      ),
    );
  }
  return h(
    'article',
    { class: `card card-${statusKind(o.status)}${stalled ? ' stalled' : ''}`, 'data-order': o.orderId, 'data-status': o.status },
    h('header', { class: 'card-head' }, h('a', { href: orderHref(o.orderId), class: 'order-link' }, o.orderId), opts.hideStatus ? null : statusBadge(o.status)),
    stalled ? h('p', { class: 'stalled-flag' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), 'Stalled: SLA alert open') : null,
    slaLine(o),
    h(
      'p',
      { class: 'card-who' },
      h('span', null, o.recipient.name),
      opts.showPhone && o.recipient.phone ? [' · ', h('a', { href: `tel:${o.recipient.phone}` }, o.recipient.phone)] : null,
    ),
    h('p', { class: 'card-where' }, o.destination.address),
    h(
      'p',
      { class: 'card-meta' },
      opts.showRetailer ? `Retailer ${o.retailerId}` : '',
      opts.showRetailer && !opts.hideDriver ? ' · ' : '',
      opts.hideDriver ? '' : o.driverId ? `Driver ${o.driverId}` : h('em', null, 'No driver yet'),
      opts.waiting ? h('strong', { class: 'waiting' }, ` · ◔ ${opts.waiting} waiting to send`) : null,
    ),
    assign,
  );
}
