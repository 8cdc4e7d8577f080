/**
 * The delivery status table of CONTRACT §3, as data. Everything that needs to
 * know which status may follow which (the domain, the console, the docs) reads
 * it from here.
 */

export const STATUSES = [
  'created',
  'picking',
  'packed',
  'picked_up',
  'in_transit',
  'at_hub',
  'out_for_delivery',
  'attempt_failed',
  'exception',
  'delivered',
  'returning',
  'returned',
  'cancelled',
  'followed_up',
] as const;

export type Status = (typeof STATUSES)[number];

/** How a status reads to a person: drives colours in the console. */
export type StatusKind = 'normal' | 'attention' | 'failed' | 'done';

interface StatusInfo {
  readonly meaning: string;
  readonly next: readonly Status[];
  readonly kind: StatusKind;
  /** Fields a checkpoint moving *into* this status must carry. */
  readonly requires: readonly ('reason' | 'proof')[];
}

export const STATUS_TABLE: Readonly<Record<Status, StatusInfo>> = {
  created: {
    meaning: 'order registered',
    next: ['picking', 'packed', 'picked_up', 'cancelled', 'exception'],
    kind: 'normal',
    requires: [],
  },
  picking: {
    meaning: 'warehouse picking started',
    next: ['packed', 'cancelled', 'exception'],
    kind: 'normal',
    requires: [],
  },
  packed: {
    meaning: 'picked and packed, awaiting carrier',
    next: ['picked_up', 'cancelled', 'exception'],
    kind: 'normal',
    requires: [],
  },
  picked_up: {
    meaning: 'carrier has it',
    next: ['in_transit', 'at_hub', 'out_for_delivery', 'exception'],
    kind: 'normal',
    requires: [],
  },
  in_transit: {
    meaning: 'between hubs',
    next: ['at_hub', 'exception'],
    kind: 'normal',
    requires: [],
  },
  at_hub: {
    meaning: 'arrived at a hub or station',
    next: ['in_transit', 'out_for_delivery', 'exception'],
    kind: 'normal',
    requires: [],
  },
  out_for_delivery: {
    meaning: 'on the last mile',
    next: ['delivered', 'attempt_failed', 'exception'],
    kind: 'normal',
    requires: [],
  },
  attempt_failed: {
    meaning: 'delivery attempt failed',
    next: ['out_for_delivery', 'at_hub', 'returning', 'exception'],
    kind: 'attention',
    requires: ['reason'],
  },
  exception: {
    meaning: 'damaged, lost, held',
    next: ['picked_up', 'in_transit', 'at_hub', 'out_for_delivery', 'returning', 'cancelled'],
    kind: 'failed',
    requires: ['reason'],
  },
  delivered: {
    meaning: 'signed for',
    next: ['followed_up'],
    kind: 'done',
    requires: ['proof'],
  },
  returning: {
    meaning: 'on the way back to the sender',
    next: ['returned', 'exception'],
    kind: 'attention',
    requires: [],
  },
  returned: { meaning: 'back at the sender', next: [], kind: 'failed', requires: [] },
  cancelled: { meaning: 'cancelled', next: [], kind: 'failed', requires: [] },
  followed_up: { meaning: 'after-sales follow-up done', next: [], kind: 'done', requires: [] },
};

/** Statuses in which the carrier has (or has had) the parcel: reaching one means "picked up". */
export const CARRIER_STATUSES: readonly Status[] = [
  'picked_up',
  'in_transit',
  'at_hub',
  'out_for_delivery',
  'attempt_failed',
  'delivered',
  'returning',
  'returned',
  'followed_up',
];

/** Statuses after which an order never moves again. */
export const FINAL_STATUSES: readonly Status[] = STATUSES.filter((s) => STATUS_TABLE[s].next.length === 0);

/**
 * Statuses in which the delivery is over: `delivered` and the final ones
 * (`returned`, `cancelled`, `followed_up`). CONTRACT §4: assigning a driver
 * to an order in one of them is CONFLICT; the console offers no assignment.
 */
export const CLOSED_STATUSES: readonly Status[] = ['delivered', ...FINAL_STATUSES];

/** May a driver be assigned to an order in `status`? Not once it is delivered or final (CONTRACT §4). */
export function acceptsAssignment(status: Status): boolean {
  return !CLOSED_STATUSES.includes(status);
}

export function isStatus(value: unknown): value is Status {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value);
}

/**
 * What a checkpoint with status `to` means for an order in status `from`:
 * `progress` (same status: recorded, clock untouched), `move` (a legal
 * transition) or `illegal`.
 */
export function classifyTransition(from: Status, to: Status): 'progress' | 'move' | 'illegal' {
  if (from === to) return 'progress';
  return STATUS_TABLE[from].next.includes(to) ? 'move' : 'illegal';
}

/** Statuses a checkpoint may carry when the order is in `from` (itself included, as a progress update). */
export function allowedNext(from: Status): Status[] {
  return [from, ...STATUS_TABLE[from].next];
}
