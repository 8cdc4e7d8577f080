/**
 * A driver's assigned orders. Drivers have no feed room, so the list is
 * re-read on every (re)connect, after each of their own posts is acked, and
 * every 20 s. The status shown accounts for posts still waiting in the outbox.
 */
import type { OrderView } from '../../../shared/domain/model';
import { FINAL_STATUSES, type Status } from '../../../shared/domain/statuses';
import type { OutboxItem } from '../../sdk/outbox';
import { WaypostRequestError } from '../../sdk/client';
import { describeError } from '../api';
import { cardKey, orderCard } from '../components/order-card';
import { loadOrders, type View } from '../context';
import { debounce, fill, h, reconcile } from '../dom';

/** The status an order will have once the outbox is sent (its last queued checkpoint), or its own. */
export function effectiveStatus(order: Pick<OrderView, 'orderId' | 'status'>, queued: readonly OutboxItem[]): Status {
  let status = order.status;
  for (const q of queued) if (q.kind === 'checkpoint' && q.frame.orderId === order.orderId) status = q.frame.status;
  return status;
}

export const driverView: View = (ctx, main) => {
  let orders: OrderView[] = [];
  let loaded = false;
  let stopped = false;
  const cards = new Map<string, { key: string; el: HTMLElement }>();
  const summary = h('p', { class: 'summary', 'aria-live': 'polite' }, 'Loading your deliveries…');
  const active = h('div', { class: 'cards list' });
  const done = h('div', { class: 'cards list' });
  const doneCount = h('span');
  const problem = h('p', { class: 'problem', role: 'alert', hidden: true });

  fill(
    main,
    h(
      'div',
      { class: 'page driver-page' },
      h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, 'My deliveries'), summary),
      problem,
      h('section', { 'aria-label': 'To deliver' }, active),
      h('details', { class: 'done' }, h('summary', null, 'Finished ', doneCount), done),
    ),
  );

  function render(): void {
    if (stopped) return;
    const queued = ctx.client.queued;
    const view = orders.map((o) => ({ ...o, status: effectiveStatus(o, queued) }));
    const isDone = (o: OrderView) => FINAL_STATUSES.includes(o.status) || o.status === 'delivered';
    const open = view.filter((o) => !isDone(o));
    const finished = view.filter(isDone);
    summary.textContent = loaded ? `${open.length} to deliver${queued.length ? `; ${queued.length} post${queued.length === 1 ? '' : 's'} waiting to send` : ''}.` : 'Loading your deliveries…';
    doneCount.textContent = `(${finished.length})`;
    const cardsFor = (list: OrderView[]) =>
      list.map((o) => {
        const waiting = queued.filter((q) => q.frame.orderId === o.orderId).length;
        const opts = { showPhone: true, waiting, hideDriver: true, showRetailer: true };
        const key = cardKey(o, opts);
        const cached = cards.get(o.orderId);
        if (cached && cached.key === key) return cached.el;
        const el = orderCard(o, opts);
        cards.set(o.orderId, { key, el });
        return el;
      });
    if (open.length === 0) fill(active, h('p', { class: 'muted' }, loaded ? 'Nothing assigned to you right now.' : 'Loading…'));
    else {
      if (active.querySelector(':scope > p')) active.replaceChildren();
      reconcile(active, cardsFor(open));
    }
    reconcile(done, cardsFor(finished));
  }

  async function reload(): Promise<void> {
    try {
      const list = await loadOrders(ctx);
      if (stopped) return;
      orders = list.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      loaded = true;
      problem.hidden = true;
      render();
    } catch (err) {
      if (stopped || (loaded && err instanceof WaypostRequestError && err.code === 'OFFLINE')) return;
      problem.hidden = false;
      problem.textContent = loaded ? `Showing what was last loaded: ${describeError(err)}` : `Could not load your deliveries: ${describeError(err)}`;
    }
  }
  const reloadSoon = debounce(() => void reload(), 300);

  const offs = [
    ctx.client.on('outbox', () => render()),
    ctx.client.on('delivered', reloadSoon),
    ctx.client.on('state', (s) => {
      if (s === 'open') reloadSoon();
    }),
  ];
  const poll = setInterval(() => {
    if (ctx.client.state === 'open') void reload();
  }, 20_000);
  void reload();
  render();
  return () => {
    stopped = true;
    clearInterval(poll);
    for (const off of offs) off();
  };
};
