/**
 * The shapes the domain works with: who is asking, the order head, and the
 * timeline events an order accumulates. Plain data, no storage concerns.
 */
import type { Attachment, Location, Proof, Role } from './schemas';
import type { Status } from './statuses';

/** Who is asking, as proven by their token. */
export interface Principal {
  readonly sub: string;
  readonly tenant: string;
  readonly role: Role;
  readonly retailerId?: string;
}

export interface Recipient {
  readonly name: string;
  readonly phone?: string;
}

export interface Destination {
  readonly address: string;
  readonly lat?: number;
  readonly lng?: number;
}

/** The order head: the current state of one order. */
export interface OrderHead {
  readonly tenant: string;
  readonly orderId: string;
  readonly retailerId: string;
  readonly driverId?: string;
  readonly status: Status;
  /** When the order entered its current status (server time, ISO). */
  readonly statusSince: string;
  /**
   * The device time (`occurredAt`, ISO 8601 as the device sent it) of the
   * checkpoint that set the current status. A checkpoint that happened
   * before it is late (CONTRACT §3). Absent when the status was set at
   * creation, or on a head written before late checkpoints existed: then no
   * checkpoint is late. A same-status progress update does not move it.
   */
  readonly statusOccurredAt?: string;
  /** The seq of the newest timeline event. */
  readonly headSeq: number;
  readonly recipient: Recipient;
  readonly destination: Destination;
  readonly promisedBy?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Set once the carrier first had the parcel: a retailer may cancel only before. */
  readonly pickedUpAt?: string;
  /** A digest of the create request, so a repeated create can be told from a conflicting one. */
  readonly createDigest: string;
  /** Per user, the highest seq they have read. */
  readonly readMarks: Readonly<Record<string, number>>;
  readonly lastLocation?: Location;
  /** The SLA alert of the current stay in this status (open or acknowledged), if any. */
  readonly openAlertId?: string;
  /** That alert's highest fired level. */
  readonly alertLevel?: number;
  /** When the SLA sweep should next look at this order (stall, or next escalation level). */
  readonly dueAt?: string;
}

/** The order as callers see it. */
export interface OrderView {
  orderId: string;
  tenant: string;
  retailerId: string;
  driverId?: string;
  status: Status;
  statusSince: string;
  headSeq: number;
  recipient: Recipient;
  destination: Destination;
  promisedBy?: string;
  createdAt: string;
  updatedAt: string;
  lastLocation?: Location;
  readMarks: Record<string, number>;
  /** Set while an SLA alert is open (or acknowledged) for the current status. */
  openAlertId?: string;
  /** When the order's current SLA clock runs out (or its alert's next level is due). */
  dueAt?: string;
}

export const EVENT_KINDS = ['created', 'assigned', 'checkpoint', 'message', 'read', 'alert'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface Actor {
  readonly sub: string;
  readonly role: Role | 'system';
}

interface EventBase {
  readonly orderId: string;
  readonly seq: number;
  /** Server time the event was recorded. */
  readonly at: string;
  readonly actor: Actor;
}

export interface CreatedEvent extends EventBase {
  readonly kind: 'created';
  readonly status: 'created';
  readonly retailerId: string;
  readonly recipientName: string;
  readonly destination: Destination;
  readonly promisedBy?: string;
}

export interface AssignedEvent extends EventBase {
  readonly kind: 'assigned';
  readonly driverId: string;
  readonly previousDriverId?: string;
}

export interface CheckpointEvent extends EventBase {
  readonly kind: 'checkpoint';
  readonly eventId: string;
  readonly status: Status;
  readonly previousStatus: Status;
  /** False for a progress update (same status as before) and for a late checkpoint. */
  readonly statusChanged: boolean;
  /**
   * True when the checkpoint arrived late: it happened (`occurredAt`) before
   * the checkpoint that set the order's status then, so it is on the
   * timeline but changed neither the status nor its SLA clock (CONTRACT §3).
   * `status` is what the device reported; `previousStatus` is the order's
   * status, unchanged. Absent on every other checkpoint.
   */
  readonly late?: boolean;
  /** Device time. */
  readonly occurredAt: string;
  readonly location?: Location;
  readonly note?: string;
  readonly reason?: string;
  readonly proof?: Proof;
}

export interface MessageEvent extends EventBase {
  readonly kind: 'message';
  readonly messageId: string;
  readonly text?: string;
  readonly attachment?: Attachment;
}

export interface ReadEvent extends EventBase {
  readonly kind: 'read';
  /** The reader has seen every event up to this seq. */
  readonly readSeq: number;
}

export interface AlertEvent extends EventBase {
  readonly kind: 'alert';
  readonly alertId: string;
  readonly level: number;
  readonly state: 'open' | 'acknowledged' | 'resolved';
  readonly status: Status;
  readonly stuckSeconds: number;
}

export type OrderEvent = CreatedEvent | AssignedEvent | CheckpointEvent | MessageEvent | ReadEvent | AlertEvent;

/** Everything an event is made of except what storage assigns (its seq). */
export type EventDraft = OrderEvent extends infer E ? (E extends OrderEvent ? Omit<E, 'seq'> : never) : never;
