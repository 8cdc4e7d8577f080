/**
 * Rooms (CONTRACT §5): who hears about what, as a registry of kinds.
 * `order:<id>` carries an order's whole timeline and replays from a seq;
 * `retailer:<id>` and `dispatch` are live feeds of status changes and alerts
 * (dispatch also hears assignments).
 *
 * Everything that depends on a room's kind reads it from `ROOM_KINDS`: the
 * wire schema (`roomSchema`), subscribe (who may join, resumable or live),
 * the fan-out (which events reach it, which rooms carry a membership epoch,
 * which members are checked against the order on every push), the SDK (which
 * rooms replay and drop repeats by seq) and the console. A new kind is one
 * entry here (with its `Room` variant) plus its tests; the compiler points to
 * nothing else.
 */
import { z } from 'zod';
import { ForbiddenError } from './errors';
import type { OrderEvent, Principal } from './model';
import { mayReadOrder, type OrderAccess } from './permissions';
import { idSchema } from './text';

/**
 * The most rooms one connection may hold at once (CONTRACT §5: "more than 500
 * rooms on one connection is `LIMIT_EXCEEDED`"). It also keeps the
 * connection item, which lists its rooms, far below DynamoDB's 400 KB item
 * limit: a room name is at most 137 characters (`retailer:` and a
 * 128-character id), at most 3 UTF-8 bytes each, so 500 of them take at most
 * about 210 KB.
 */
export const MAX_ROOMS_PER_CONNECTION = 500;

export type Room =
  | { readonly type: 'order'; readonly orderId: string }
  | { readonly type: 'retailer'; readonly retailerId: string }
  | { readonly type: 'dispatch' };

export type RoomType = Room['type'];
export type RoomOf<T extends RoomType> = Extract<Room, { type: T }>;

/** What an event's order tells the registry about where the event goes. */
export interface EventOwner {
  readonly retailerId: string;
}

/** One kind of room: its name's grammar, who may join it, how it is fed. */
export interface RoomKind<T extends RoomType> {
  readonly type: T;
  /** The name's shape, for error messages (`order:<orderId>`). */
  readonly pattern: string;
  /** The room a name names, or undefined when the name is not of this kind (or its id is not a valid id). */
  parse(name: string): RoomOf<T> | undefined;
  format(room: RoomOf<T>): string;
  /**
   * How joining is authorized: `order`, against the order the room is about
   * (the same rule as reading it, checked on the order's head at join, in
   * `OrdersService.joinRoom`, and on every push: a member who lost the right
   * is sent `revoked`); or `principal`, by `authorize` on the principal alone,
   * which never changes on a connection.
   */
  readonly access: 'order' | 'principal';
  /**
   * For `principal` access: may `p` join `room`?
   *
   * @throws {ForbiddenError} when not
   * @throws {Error} for `order` access, whose check needs the order (a programming error)
   */
  authorize(p: Principal, room: RoomOf<T>): void;
  /**
   * Resumable rooms carry an order's timeline: events in seq order, `sinceSeq`
   * catch-up on subscribe, and a membership epoch on the order's head so the
   * fan-out reads the members again when one joins. Live feeds are none of
   * these: a client re-reads them over HTTP after a reconnect.
   */
  readonly resumable: boolean;
  /** The room of this kind an event of an order goes to, if any. */
  roomFor(event: OrderEvent, owner: EventOwner): RoomOf<T> | undefined;
}

/** `prefix` + a valid id, as a room of one kind. */
function idRoom<T extends RoomType>(prefix: string, name: string, make: (id: string) => RoomOf<T>): RoomOf<T> | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const id = name.slice(prefix.length);
  return idSchema.safeParse(id).success ? make(id) : undefined;
}

/** Does this event tell the live feeds something (a new order, a status change, an alert)? */
function isFeedEvent(event: OrderEvent): boolean {
  switch (event.kind) {
    case 'created':
    case 'alert':
      return true;
    case 'checkpoint':
      return event.statusChanged;
    default:
      return false;
  }
}

const ORDER_PREFIX = 'order:';

const orderRooms: RoomKind<'order'> = {
  type: 'order',
  pattern: 'order:<orderId>',
  parse: (name) => idRoom(ORDER_PREFIX, name, (orderId) => ({ type: 'order', orderId })),
  format: (room) => `${ORDER_PREFIX}${room.orderId}`,
  access: 'order',
  authorize: () => {
    throw new Error('order rooms are authorized against the order (OrdersService.joinRoom)');
  },
  resumable: true,
  roomFor: (event) => ({ type: 'order', orderId: event.orderId }),
};

const retailerRooms: RoomKind<'retailer'> = {
  type: 'retailer',
  pattern: 'retailer:<retailerId>',
  parse: (name) => idRoom('retailer:', name, (retailerId) => ({ type: 'retailer', retailerId })),
  format: (room) => `retailer:${room.retailerId}`,
  access: 'principal',
  authorize: (p, room) => {
    if (p.role === 'dispatcher') return;
    if (p.role === 'retailer' && p.retailerId === room.retailerId) return;
    throw new ForbiddenError('You may subscribe only to your own retailer room.');
  },
  resumable: false,
  roomFor: (event, owner) => (isFeedEvent(event) ? { type: 'retailer', retailerId: owner.retailerId } : undefined),
};

const dispatchRoom: RoomKind<'dispatch'> = {
  type: 'dispatch',
  pattern: 'dispatch',
  parse: (name) => (name === 'dispatch' ? { type: 'dispatch' } : undefined),
  format: () => 'dispatch',
  access: 'principal',
  authorize: (p) => {
    if (p.role !== 'dispatcher') throw new ForbiddenError('Only dispatchers may subscribe to dispatch.');
  },
  resumable: false,
  roomFor: (event) => (isFeedEvent(event) || event.kind === 'assigned' ? { type: 'dispatch' } : undefined),
};

/** A room kind seen from code that handles every kind: it takes any `Room` and refuses one of another kind. */
export interface AnyRoomKind {
  readonly type: RoomType;
  readonly pattern: string;
  readonly access: 'order' | 'principal';
  readonly resumable: boolean;
  parse(name: string): Room | undefined;
  /** @throws {Error} for a room of another kind (a programming error) */
  format(room: Room): string;
  /** @throws {ForbiddenError} as the kind's `authorize`; {Error} for a room of another kind */
  authorize(p: Principal, room: Room): void;
  roomFor(event: OrderEvent, owner: EventOwner): Room | undefined;
}

function registered<T extends RoomType>(kind: RoomKind<T>): AnyRoomKind & { readonly type: T } {
  const own = (room: Room): RoomOf<T> => {
    if (!isOfKind(room)) throw new Error(`a ${room.type} room given to the ${kind.type} room kind`);
    return room;
  };
  const isOfKind = (room: Room): room is RoomOf<T> => room.type === kind.type;
  return {
    type: kind.type,
    pattern: kind.pattern,
    access: kind.access,
    resumable: kind.resumable,
    parse: (name) => kind.parse(name),
    format: (room) => kind.format(own(room)),
    authorize: (p, room) => kind.authorize(p, own(room)),
    roomFor: (event, owner) => kind.roomFor(event, owner),
  };
}

/**
 * Every room kind, in the order an event's rooms are listed (its order room
 * first). A `Room` variant without its entry here does not compile.
 */
export const ROOM_KINDS = {
  order: registered(orderRooms),
  retailer: registered(retailerRooms),
  dispatch: registered(dispatchRoom),
} as const satisfies { readonly [T in RoomType]: AnyRoomKind & { readonly type: T } };

const KINDS: readonly AnyRoomKind[] = Object.values(ROOM_KINDS);

/** The kind of a room. */
export function kindOf(room: Room): AnyRoomKind {
  return ROOM_KINDS[room.type];
}

/** The room a name names, or undefined when no kind parses it. */
export function parseRoomName(name: string): Room | undefined {
  for (const kind of KINDS) {
    const room = kind.parse(name);
    if (room !== undefined) return room;
  }
  return undefined;
}

/**
 * Parse a room name already checked by `roomSchema`.
 *
 * @throws {Error} for a name no kind parses (a programming error: check it with `roomSchema` first)
 */
export function parseRoom(name: string): Room {
  const room = parseRoomName(name);
  if (room === undefined) throw new Error(`not a room name: ${JSON.stringify(name)}`);
  return room;
}

/** A room's name on the wire. */
export function roomName(room: Room): string {
  return kindOf(room).format(room);
}

/** The name of an order's room (`order:<orderId>`). */
export const orderRoomName = (orderId: string): string => roomName({ type: 'order', orderId });

/** Is this room name an order's (a resumable room whose events carry that order's seq)? The order id, or undefined. */
export function orderIdOfRoom(name: string): string | undefined {
  const room = parseRoomName(name);
  return room?.type === 'order' ? room.orderId : undefined;
}

/** Does a room of this name replay (catch-up from a seq) and carry a membership epoch? */
export function isResumableRoom(name: string): boolean {
  const room = parseRoomName(name);
  return room !== undefined && kindOf(room).resumable;
}

/** A room name as the wire takes it (CONTRACT §5): `order:<orderId>`, `retailer:<retailerId>` or `dispatch`. */
export const roomSchema = z
  .string()
  .max(160)
  .refine((name) => parseRoomName(name) !== undefined, {
    message: `must be ${KINDS.map((k) => `"${k.pattern}"`)
      .join(', ')
      .replace(/, ([^,]*)$/, ' or $1')}`,
  });

/**
 * May `p` join a room that is authorized on the principal alone? Rooms whose
 * access is `order` are authorized against the order itself
 * (`authorizeReadOrder`), so they are not decided here.
 *
 * @throws {ForbiddenError} when `p` may not join it
 */
export function authorizeFeedRoom(p: Principal, room: Exclude<Room, { type: 'order' }>): void {
  kindOf(room).authorize(p, room);
}

/** A room an event goes to: its name, and its kind (so the fan-out never parses the name back). */
export interface EventRoom {
  readonly name: string;
  readonly kind: AnyRoomKind;
}

/** The rooms an event of an order owned by `retailerId` is pushed to, with their kinds, its order room first. */
export function eventRooms(event: OrderEvent, retailerId: string): EventRoom[] {
  const rooms: EventRoom[] = [];
  for (const kind of KINDS) {
    const room = kind.roomFor(event, { retailerId });
    if (room !== undefined) rooms.push({ name: kind.format(room), kind });
  }
  return rooms;
}

/** The names of the rooms an event of an order owned by `retailerId` is pushed to, its order room first. */
export function roomsForEvent(event: OrderEvent, retailerId: string): string[] {
  return eventRooms(event, retailerId).map((room) => room.name);
}

/** Why a connection stops hearing a room (CONTRACT §2): the right to read the order went. */
export const REVOKED_REASON = 'unassigned';

/** The push that tells a connection it has left a room for good. */
export interface RevokedFrame {
  readonly type: 'revoked';
  readonly room: string;
  readonly reason: typeof REVOKED_REASON;
}

export function revokedFrame(room: string): RevokedFrame {
  return { type: 'revoked', room, reason: REVOKED_REASON };
}

/** Who holds a room membership, and until when. */
export interface MemberRights {
  readonly principal: Principal;
  /** The expiry of the connection's token (its `exp` claim), epoch seconds. */
  readonly exp: number;
}

/**
 * What the fan-out does with one member of `room` for an event of an order
 * with `order`'s tenant, retailer and driver, at `nowMs` (epoch ms):
 * `expired` when the member's token has run out (at `exp` exactly pushes
 * stop), `revoke` when it may no longer read the order (the same rule as
 * subscribe: `mayReadOrder`), else `push`. `order` undefined: the event's
 * routing item predates rights stamping and only expiry is checked. Rooms
 * granted on the principal alone (live feeds), which never changes on a
 * connection, are checked for expiry only.
 */
export function pushVerdict(
  member: MemberRights,
  room: string | Pick<AnyRoomKind, 'access'>,
  order: OrderAccess | undefined,
  nowMs: number,
): 'push' | 'revoke' | 'expired' {
  if (member.exp * 1000 <= nowMs) return 'expired';
  if (order === undefined) return 'push';
  const access = typeof room === 'string' ? accessOf(room) : room.access;
  if (access === 'order' && !mayReadOrder(member.principal, order)) return 'revoke';
  return 'push';
}

function accessOf(name: string): AnyRoomKind['access'] | undefined {
  const parsed = parseRoomName(name);
  return parsed === undefined ? undefined : kindOf(parsed).access;
}
