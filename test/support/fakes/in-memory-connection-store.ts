/**
 * `ConnectionStore` in memory, with `DynamoConnectionStore`'s observable
 * contract (the contract test runs the same assertions on both): a
 * connection item and one membership item per room, keyed by tenant and
 * room; a join writes the membership with the connection's current token
 * expiry; a connection holds at most `MAX_ROOMS_PER_CONNECTION` rooms
 * (another one is `LimitExceededError`, a held one joins again); a leave
 * changes something only for a member; renew moves the connection's expiry
 * and then each membership's; remove drops the connection and the
 * memberships its room set names. Members are listed in the order DynamoDB
 * sorts their keys (`C#<connectionId>`, by UTF-8 bytes).
 *
 * What depends on DynamoDB itself, and what this does instead:
 * - TTL: items are never deleted when `expiresAt` passes (DynamoDB Local
 *   never runs TTL and AWS deletes lazily); as in the Dynamo store, `get`
 *   and `memberships` hide expired items, while conditional writes (join,
 *   leave, renew) still see them. `now` is the clock for that (default
 *   `Date.now`);
 * - reads are always consistent, `consistent` or not;
 * - each change is atomic and nothing runs concurrently with it, so there
 *   are no transaction conflicts and join or leave never ends in
 *   `RateLimitedError`.
 */
import { LimitExceededError } from '../../../shared/domain/errors';
import { MAX_ROOMS_PER_CONNECTION } from '../../../shared/domain/rooms';
import {
  CONNECTION_TTL_SECONDS,
  type ConnectionHolder,
  type ConnectionRecord,
  type ConnectionStore,
  type Membership,
} from '../../../shared/store/connection-store';
import { byteOrder } from './orders-table';

interface StoredConnection {
  readonly holder: ConnectionHolder;
  readonly connectedAt: string;
  readonly expiresAt: number;
  /** Insertion order, as a set. */
  readonly rooms: Set<string>;
}

interface StoredMembership {
  readonly holder: ConnectionHolder;
  readonly expiresAt: number;
}

export class InMemoryConnectionStore implements ConnectionStore {
  private readonly connections = new Map<string, StoredConnection>();
  /** By tenant, then room, then connection id. */
  private readonly rooms = new Map<string, Map<string, Map<string, StoredMembership>>>();

  /** @param now the clock TTL is checked against, epoch milliseconds. */
  constructor(private readonly now: () => number = Date.now) {}

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  private room(tenant: string, room: string, create: true): Map<string, StoredMembership>;
  private room(tenant: string, room: string, create?: false): Map<string, StoredMembership> | undefined;
  private room(tenant: string, room: string, create = false): Map<string, StoredMembership> | undefined {
    let byRoom = this.rooms.get(tenant);
    if (byRoom === undefined) {
      if (!create) return undefined;
      this.rooms.set(tenant, (byRoom = new Map<string, Map<string, StoredMembership>>()));
    }
    let members = byRoom.get(room);
    if (members === undefined && create) byRoom.set(room, (members = new Map<string, StoredMembership>()));
    return members;
  }

  /** Record a new connection; like DynamoDB's `Put`, it replaces one with the same id whole (its room set included). */
  async put(connectionId: string, holder: ConnectionHolder, connectedAt: Date): Promise<void> {
    this.connections.set(connectionId, {
      holder: structuredClone(holder),
      connectedAt: connectedAt.toISOString(),
      expiresAt: Math.floor(connectedAt.getTime() / 1000) + CONNECTION_TTL_SECONDS,
      rooms: new Set(),
    });
  }

  async get(connectionId: string): Promise<ConnectionRecord | null> {
    const stored = this.connections.get(connectionId);
    if (stored === undefined || stored.expiresAt <= this.nowSeconds()) return null;
    return {
      connectionId,
      principal: structuredClone(stored.holder.principal),
      exp: stored.holder.exp,
      connectedAt: stored.connectedAt,
      expiresAt: stored.expiresAt,
      rooms: [...stored.rooms],
    };
  }

  /** @throws LimitExceededError when the connection holds `MAX_ROOMS_PER_CONNECTION` rooms, not this one. */
  async join(connectionId: string, room: string, holder: ConnectionHolder): Promise<boolean> {
    const stored = this.connections.get(connectionId);
    if (stored === undefined) return false;
    if (stored.rooms.size >= MAX_ROOMS_PER_CONNECTION && !stored.rooms.has(room)) {
      throw new LimitExceededError(
        `This connection already holds ${MAX_ROOMS_PER_CONNECTION} rooms, the most one connection may hold; unsubscribe from one first.`,
        MAX_ROOMS_PER_CONNECTION,
      );
    }
    stored.rooms.add(room);
    // The membership carries the connection's expiry as it is now (a renewal that raced the join is not lost).
    this.room(holder.principal.tenant, room, true).set(connectionId, {
      holder: { principal: structuredClone(holder.principal), exp: stored.holder.exp },
      expiresAt: this.nowSeconds() + CONNECTION_TTL_SECONDS,
    });
    return true;
  }

  async leave(connectionId: string, tenant: string, room: string): Promise<boolean> {
    const members = this.room(tenant, room);
    if (members?.delete(connectionId) !== true) return false;
    this.connections.get(connectionId)?.rooms.delete(room);
    return true;
  }

  async members(tenant: string, room: string): Promise<string[]> {
    return (await this.memberships(tenant, room)).map((m) => m.connectionId);
  }

  async memberships(tenant: string, room: string, _options: { consistent?: boolean } = {}): Promise<Membership[]> {
    const now = this.nowSeconds();
    return [...(this.room(tenant, room)?.entries() ?? [])]
      .filter(([, m]) => m.expiresAt > now)
      .sort(([a], [b]) => byteOrder(a, b))
      .map(([connectionId, m]) => ({ connectionId, expiresAt: m.expiresAt, holder: structuredClone(m.holder) }));
  }

  async renew(connectionId: string, exp: number): Promise<boolean> {
    const stored = this.connections.get(connectionId);
    if (stored === undefined) return false;
    this.connections.set(connectionId, { ...stored, holder: { ...stored.holder, exp } });
    const tenant = stored.holder.principal.tenant;
    for (const room of stored.rooms) {
      const members = this.room(tenant, room);
      const membership = members?.get(connectionId);
      if (members !== undefined && membership !== undefined) members.set(connectionId, { ...membership, holder: { ...membership.holder, exp } });
    }
    return true;
  }

  async remove(connectionId: string): Promise<void> {
    const stored = this.connections.get(connectionId);
    this.connections.delete(connectionId);
    if (stored === undefined) return;
    for (const room of stored.rooms) this.room(stored.holder.principal.tenant, room)?.delete(connectionId);
  }
}
