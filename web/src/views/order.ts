/**
 * One order, for every role: its head, a progress stepper, the full timeline
 * (the `order:<id>` room from seq 0, so live and complete), a trail of its
 * positions, the conversation with read marks, CSV export, and, for whoever
 * may post, the checkpoint form (a driver's first thing on a phone).
 */
import type { OrderEvent, OrderView } from '../../../shared/domain/model';
import { STATUS_TABLE, type Status } from '../../../shared/domain/statuses';
import { orderRoomName } from '../../../shared/domain/rooms';
import { dict } from '../../../shared/domain/user-keys';
import { WaypostRequestError } from '../../sdk/client';
import { describeError, download } from '../api';
import { CheckpointForm } from '../components/checkpoint-form';
import { Conversation } from '../components/conversation';
import { slaLine, statusBadge } from '../components/status';
import { stepper } from '../components/stepper';
import { timeline } from '../components/timeline';
import { trail } from '../components/trail';
import type { Ctx, View } from '../context';
import { debounce, fill, h } from '../dom';
import { formatTime, statusLabel } from '../format';
import { effectiveStatus } from './driver';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Which statuses a role may post from the form (the server decides in the end). */
function postFilter(ctx: Ctx): ((s: Status, from: Status) => boolean) | null {
  switch (ctx.session.claims.role) {
    case 'driver':
    case 'dispatcher':
      return () => true;
    case 'retailer':
      return (s, from) => s === 'followed_up' || (s === 'cancelled' && ['created', 'picking', 'packed'].includes(from));
  }
}

function section(cls: string, title: string, ...body: (Node | null)[]): HTMLElement {
  const id = `h-${cls.split(" ")[0]}`;
  return h('section', { class: `panel ${cls}`, 'aria-labelledby': id }, h('h2', { id }, title), ...body);
}

export function orderPage(orderId: string): View {
  return (ctx, main) => {
    const me = ctx.session.claims.sub;
    let order: Mutable<OrderView> | undefined;
    const events: OrderEvent[] = [];
    // Keyed by sub, which users choose: no prototype, so a `__proto__` or `constructor` reader is a key like any other.
    const readMarks = dict<number>();
    let stopped = false;
    /** Set once the order's room was revoked: the page stays as it was, with its notice. */
    let lostAccess = false;
    let readSent = 0;

    const headInfo = h('div', { class: 'order-info' }, h('p', { class: 'muted' }, 'Loading…'));
    const problem = h('p', { class: 'problem', role: 'alert', hidden: true });
    const csvNote = h('span', { class: 'form-note', role: 'status', 'aria-live': 'polite' });
    const csvButton = h('button', { type: 'button' }, h('span', { 'aria-hidden': 'true' }, '⤓ '), 'Export CSV');
    csvButton.addEventListener('click', () => {
      csvNote.textContent = 'Downloading…';
      download(ctx.api, `/api/orders/${encodeURIComponent(orderId)}/timeline.csv`, `${orderId.replace(/[^\w.-]/g, '_')}-timeline.csv`).then(
        () => (csvNote.textContent = 'Downloaded.'),
        (err: unknown) => (csvNote.textContent = describeError(err)),
      );
    });

    const stepperBox = h('div', null);
    const timelineBox = h('div', null);
    const trailBox = h('div', null);
    const queuedNote = h('p', { class: 'queued-note', role: 'status', 'aria-live': 'polite' });
    const conversation = new Conversation(ctx.client, orderId, me);
    const filter = postFilter(ctx);
    const form = filter ? new CheckpointForm(ctx.client, orderId, filter) : null;
    const isDriver = ctx.session.claims.role === 'driver';
    // A driver's first thing; for the others, an occasional action below the rest.
    const formSection = form ? section(isDriver ? 'sec-checkpoint' : 'sec-checkpoint sec-late', 'Post a checkpoint', queuedNote, form.el) : null;

    fill(
      main,
      h(
        'div',
        { class: 'page order-page' },
        h('p', { class: 'back' }, h('a', { href: '#/' }, '← ', ctx.session.claims.role === 'dispatcher' ? 'Board' : ctx.session.claims.role === 'driver' ? 'My deliveries' : 'All orders')),
        h(
          'div',
          { class: 'page-head' },
          h('h1', { tabindex: '-1' }, 'Order ', h('span', { class: 'order-id' }, orderId)),
          h('div', { class: 'head-actions' }, csvButton, csvNote),
        ),
        problem,
        headInfo,
        h(
          'div',
          { class: 'order-layout' },
          h(
            'div',
            { class: 'col col-main' },
            isDriver ? formSection : null,
            section('sec-progress', 'Progress', stepperBox),
            section('sec-timeline', 'Timeline', h('p', { class: 'muted small' }, 'Checkpoints, assignments and alerts, oldest first; messages are in the conversation.'), timelineBox),
          ),
          h(
            'div',
            { class: 'col col-side' },
            section('sec-conversation', 'Conversation', conversation.el),
            section('sec-trail', 'Trail', trailBox),
            isDriver ? null : formSection,
          ),
        ),
      ),
    );

    function renderHead(): void {
      if (!order) return;
      fill(
        headInfo,
        h('div', { class: 'head-status' }, statusBadge(order.status), h('span', { class: 'since' }, ` since ${formatTime(order.statusSince)}`)),
        order.openAlertId ? h('p', { class: 'stalled-flag' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), 'Stalled: SLA alert open') : null,
        ctx.session.claims.role !== 'driver' ? slaLine(order) : null,
        h(
          'dl',
          { class: 'facts' },
          h('div', null, h('dt', null, 'Recipient'), h('dd', null, order.recipient.name, order.recipient.phone ? [' · ', h('a', { href: `tel:${order.recipient.phone}` }, order.recipient.phone)] : null)),
          h('div', null, h('dt', null, 'Deliver to'), h('dd', null, order.destination.address)),
          h('div', null, h('dt', null, 'Retailer'), h('dd', null, order.retailerId)),
          h('div', null, h('dt', null, 'Driver'), h('dd', null, order.driverId ?? 'not assigned')),
          order.promisedBy ? h('div', null, h('dt', null, 'Promised by'), h('dd', null, formatTime(order.promisedBy))) : null,
          h('div', null, h('dt', null, 'Created'), h('dd', null, formatTime(order.createdAt))),
        ),
      );
    }

    function renderForm(): void {
      if (!form || !formSection || !order) return;
      const queued = ctx.client.queued.filter((q) => q.frame.orderId === orderId);
      const from = effectiveStatus(order, ctx.client.queued);
      form.setStatus(from);
      // A retailer sees the form only when there is something it may post.
      if (ctx.session.claims.role === 'retailer') {
        formSection.hidden = !STATUS_TABLE[from].next.some((s) => filter!(s, from));
      }
      queuedNote.textContent =
        queued.length === 0
          ? ''
          : `◔ ${queued.length} waiting to send: ${queued.map((q) => (q.kind === 'checkpoint' ? statusLabel(q.frame.status) : 'a message')).join(', ')}.`;
    }

    let scheduled = false;
    function render(): void {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        if (stopped) return;
        renderHead();
        renderForm();
        const status = order?.status ?? 'created';
        fill(stepperBox, stepper(status, events));
        fill(timelineBox, timeline(events, order?.destination));
        fill(trailBox, trail(events, order?.destination));
        conversation.update(events, readMarks, ctx.client.queued);
        markRead();
      });
    }

    /** Tell the server what this user has seen: up to the newest event that is not a read mark itself. */
    function markRead(): void {
      if (lostAccess || document.visibilityState !== 'visible' || ctx.client.state !== 'open') return;
      const target = events.reduce((m, e) => (e.kind !== 'read' && e.seq > m ? e.seq : m), 0);
      if (target <= Math.max(readSent, readMarks[me] ?? 0)) return;
      readSent = target;
      ctx.client.read(orderId, target).catch(() => {
        readSent = 0;
      });
    }

    async function loadOrder(): Promise<void> {
      if (lostAccess) return;
      try {
        const res = await ctx.api.get<{ order: OrderView }>(`/api/orders/${encodeURIComponent(orderId)}`);
        if (stopped || lostAccess) return;
        order = res.order;
        for (const [who, seq] of Object.entries(res.order.readMarks)) readMarks[who] = Math.max(readMarks[who] ?? 0, seq);
        problem.hidden = true;
        render();
      } catch (err) {
        if (stopped || lostAccess) return;
        // Offline with the order on screen: the header says so, and the order is read again on reconnect.
        if (order && err instanceof WaypostRequestError && err.code === 'OFFLINE') return;
        problem.hidden = false;
        problem.textContent = order ? `Showing what was last loaded: ${describeError(err)}` : `Could not load this order: ${describeError(err)}`;
      }
    }
    const reloadOrder = debounce(() => void loadOrder(), 250);

    function apply(e: OrderEvent): void {
      events.push(e);
      if (e.kind === 'read') {
        readMarks[e.actor.sub] = Math.max(readMarks[e.actor.sub] ?? 0, e.readSeq);
      }
      if (order) {
        order.headSeq = Math.max(order.headSeq, e.seq);
        if (e.kind === 'checkpoint') {
          // A late checkpoint (CONTRACT §3) moves neither the status nor the last position.
          if (e.location && e.late !== true) order.lastLocation = e.location;
          if (e.statusChanged && Date.parse(e.at) >= Date.parse(order.statusSince)) {
            order.status = e.status;
            order.statusSince = e.at;
            delete order.dueAt;
          }
        } else if (e.kind === 'assigned') {
          order.driverId = e.driverId;
        } else if (e.kind === 'alert') {
          if (e.state === 'open') order.openAlertId = e.alertId;
          else if (e.state === 'resolved' && order.openAlertId === e.alertId) delete order.openAlertId;
        }
      }
      if (e.kind === 'checkpoint' || e.kind === 'assigned' || e.kind === 'alert') reloadOrder();
      render();
    }

    /** The right to read this order went (a driver reassigned away): say so, and offer nothing to post. */
    function revoked(): void {
      if (stopped) return;
      lostAccess = true;
      problem.hidden = false;
      problem.textContent = 'You no longer have access to this order. What is shown is as it was; it is no longer updated.';
      if (formSection) formSection.hidden = true;
      conversation.closeCompose();
    }

    const leave = ctx.client.subscribe(orderRoomName(orderId), { onEvent: apply, onRevoked: revoked }, 0);
    const offs = [
      ctx.client.on('outbox', () => render()),
      ctx.client.on('state', (s) => {
        if (s === 'open') {
          reloadOrder();
          render();
        }
      }),
    ];
    const onVisible = () => markRead();
    document.addEventListener('visibilitychange', onVisible);
    void loadOrder();
    render();

    return () => {
      stopped = true;
      leave();
      for (const off of offs) off();
      document.removeEventListener('visibilitychange', onVisible);
    };
  };
}
