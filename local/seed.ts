/**
 * The demo tenant: a retailer, a dispatcher, two drivers and a few orders in
 * different stages, seeded once on a fresh database. Tokens are minted anew
 * at every start.
 */
import type { Principal } from '../shared/domain/model';
import { signLocalToken, type TokenRequest } from '../shared/runtime/auth';
import type { OrdersService } from '../shared/services/orders-service';
import type { OrderStore } from '../shared/store/order-store';
import type { Status } from '../shared/domain/statuses';

export const DEMO_TENANT = 'demo';

export interface DemoUser extends TokenRequest {
  readonly label: string;
}

export const DEMO_USERS: readonly DemoUser[] = [
  { label: 'Rita (retailer, Acme Outfitters)', tenant: DEMO_TENANT, role: 'retailer', sub: 'rita', retailerId: 'acme' },
  { label: 'Dana (dispatcher)', tenant: DEMO_TENANT, role: 'dispatcher', sub: 'dana' },
  { label: 'Dave (driver)', tenant: DEMO_TENANT, role: 'driver', sub: 'dave' },
  { label: 'Diego (driver)', tenant: DEMO_TENANT, role: 'driver', sub: 'diego' },
];

interface DemoOrder {
  readonly orderId: string;
  readonly recipient: string;
  readonly address: string;
  readonly lat: number;
  readonly lng: number;
  readonly driver?: string;
  readonly path: readonly Status[];
}

const DEMO_ORDERS: readonly DemoOrder[] = [
  { orderId: 'demo-1001', recipient: 'Ada Lovelace', address: '12 St James Sq, London', lat: 51.5074, lng: -0.1345, path: [] },
  { orderId: 'demo-1002', recipient: 'Alan Turing', address: '2 Bletchley Park, Milton Keynes', lat: 51.997, lng: -0.7405, driver: 'dave', path: ['packed', 'picked_up'] },
  { orderId: 'demo-1003', recipient: 'Grace Hopper', address: '221 Market St, Cambridge', lat: 52.2053, lng: 0.1218, driver: 'dave', path: ['picked_up', 'at_hub', 'out_for_delivery'] },
  { orderId: 'demo-1004', recipient: 'Edsger Dijkstra', address: '5 Canal Rd, Oxford', lat: 51.7548, lng: -1.2544, driver: 'diego', path: ['picked_up', 'in_transit', 'at_hub'] },
  { orderId: 'demo-1005', recipient: 'Barbara Liskov', address: '9 Mill Lane, Reading', lat: 51.4543, lng: -0.9781, driver: 'diego', path: ['picked_up', 'out_for_delivery', 'delivered'] },
];

/** Seed the demo tenant unless it is there already. Returns whether it seeded. */
export async function seedDemo(orders: OrdersService, store: OrderStore): Promise<boolean> {
  if ((await store.getOrder(DEMO_TENANT, DEMO_ORDERS[0]!.orderId)) !== null) return false;
  const dispatcher: Principal = { tenant: DEMO_TENANT, role: 'dispatcher', sub: 'dana' };
  const retailer: Principal = { tenant: DEMO_TENANT, role: 'retailer', sub: 'rita', retailerId: 'acme' };
  for (const o of DEMO_ORDERS) {
    await orders.create(retailer, {
      orderId: o.orderId,
      retailerId: 'acme',
      recipient: { name: o.recipient, phone: '+15550100123' },
      destination: { address: o.address, lat: o.lat, lng: o.lng },
      promisedBy: new Date(Date.now() + 2 * 86_400_000).toISOString(),
    });
    if (o.driver !== undefined) await orders.assign(dispatcher, o.orderId, o.driver);
    const driver: Principal = { tenant: DEMO_TENANT, role: 'driver', sub: o.driver ?? 'dave' };
    let n = 0;
    for (const status of o.path) {
      n++;
      const by = o.driver !== undefined && status !== 'packed' ? driver : dispatcher;
      const base = {
        action: 'checkpoint' as const,
        eventId: `seed-${o.orderId}-${n}`,
        orderId: o.orderId,
        occurredAt: new Date().toISOString(),
        location: { lat: round(o.lat + 0.01 * (o.path.length - n)), lng: round(o.lng - 0.01 * (o.path.length - n)), accuracyM: 15 },
      };
      await orders.checkpoint(
        by,
        status === 'delivered'
          ? { ...base, status, proof: { recipientType: 'self', recipientName: o.recipient } }
          : { ...base, status: status as Exclude<Status, 'delivered' | 'attempt_failed' | 'exception'> },
      );
    }
  }
  return true;
}

export async function demoTokens(secret: string, ttlSeconds = 12 * 3600): Promise<(DemoUser & { token: string })[]> {
  return Promise.all(DEMO_USERS.map(async (u) => ({ ...u, token: await signLocalToken(secret, { ...u, ttlSeconds }) })));
}

function round(n: number): number {
  return Math.round(n * 1e5) / 1e5;
}
