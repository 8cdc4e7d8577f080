/** What every view gets: who is signed in, the live client, and the HTTP API. */
import type { OrderView } from '../../shared/domain/model';
import type { WaypostClient } from '../sdk/client';
import type { WaypostHttp } from '../sdk/http';
import type { Endpoints } from './api';
import { debounce } from './dom';
import type { Session } from './session';

export interface Ctx {
  readonly session: Session;
  readonly client: WaypostClient;
  readonly api: WaypostHttp;
  readonly endpoints: Endpoints;
}

/** A view renders into `main` and returns what stops it (subscriptions, timers). */
export type View = (ctx: Ctx, main: HTMLElement) => () => void;

/** Every order the caller may list (following cursors, within reason), newest first. */
export async function loadOrders(ctx: Ctx, query: Record<string, string> = {}): Promise<OrderView[]> {
  const all: OrderView[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const params = new URLSearchParams({ ...query, limit: '200', ...(cursor !== undefined && { cursor }) });
    const res = await ctx.api.get<{ orders: OrderView[]; cursor?: string }>(`/api/orders?${params.toString()}`);
    all.push(...res.orders);
    cursor = res.cursor;
    if (cursor === undefined) break;
  }
  return all;
}

/**
 * Re-read orders that a feed event touched, a few at a time: returns the
 * function that marks one as touched. Changes land in `orders`, then `render`.
 */
export function orderRefresher(ctx: Ctx, orders: Map<string, OrderView>, render: () => void): (orderId: string) => void {
  const dirty = new Set<string>();
  const refresh = debounce(() => {
    const ids = [...dirty];
    dirty.clear();
    void Promise.all(
      ids.map((id) =>
        ctx.api.get<{ order: OrderView }>(`/api/orders/${encodeURIComponent(id)}`).then(
          ({ order }) => orders.set(order.orderId, order),
          () => undefined,
        ),
      ),
    ).then(render);
  }, 150);
  return (orderId) => {
    dirty.add(orderId);
    refresh();
  };
}

export function orderHref(orderId: string): string {
  return `#/orders/${encodeURIComponent(orderId)}`;
}

/**
 * A live feed joins once the socket opens; anything that happened between
 * the first HTTP read and that join would be missed, so read again then.
 * (Later reconnects are covered by the room's `onResync`.)
 */
export function afterFirstOpen(client: WaypostClient, reread: () => void): () => void {
  if (client.state === 'open') return () => undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const off = client.on('state', (s) => {
    if (s !== 'open') return;
    off();
    timer = setTimeout(reread, 300);
  });
  return () => {
    off();
    clearTimeout(timer);
  };
}
