/**
 * The WebSocket protocol as one table (CONTRACT §5): each action's request
 * schema and ack schema. The server parses requests and dispatches from it
 * (`shared/services/realtime-service.ts` holds one handler per entry, checked
 * by the compiler), the SDK types `request` from it, and the tests, the bench
 * and the simulator share one requester typed by it (`web/sdk/requester.ts`).
 * A new action is one entry here and its handler there.
 *
 * Browser-safe: zod and the domain's types only.
 */
import { z } from 'zod';
import type { ErrorCode, WaypostError } from './errors';
import type { OrderEvent } from './model';
import {
  ackAlertFrameSchema,
  authFrameSchema,
  checkpointFrameSchema,
  messageFrameSchema,
  pingFrameSchema,
  readFrameSchema,
  statusSchema,
  subscribeFrameSchema,
  parseOrThrow,
  unsubscribeFrameSchema,
} from './schemas';
import type { AlertView } from './sla';

/** Requests over this many UTF-8 bytes are refused with PAYLOAD_TOO_LARGE (CONTRACT §5: 64 KiB). */
export const REQUEST_MAX_BYTES = 64 * 1024;

/** The longest `reqId` echoed in a reply (CONTRACT §5: ids are at most 128 characters). */
const REQ_ID_MAX = 128;

/** A timeline event in an ack, as pushed (its fields are the domain's `OrderEvent`). */
const orderEventSchema = z.custom<OrderEvent>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { orderId?: unknown }).orderId === 'string' && typeof (v as { seq?: unknown }).seq === 'number',
  'must be a timeline event',
);
/** An alert in an ack, as `GET /api/alerts` lists it. */
const alertViewSchema = z.custom<AlertView>(
  (v) => typeof v === 'object' && v !== null && typeof (v as { alertId?: unknown }).alertId === 'string',
  'must be an alert',
);

/** The fields each ack carries besides `type` and `reqId` (CONTRACT §5's "ack carries"). */
const ackSchemas = {
  subscribe: z.object({
    room: z.string(),
    /** Order rooms: the order's headSeq as of the join. */
    headSeq: z.number().int().optional(),
    /** Order rooms with `sinceSeq`: the events in (sinceSeq, headSeq], cut at 500 or 128 KiB. */
    items: z.array(orderEventSchema).optional(),
    more: z.boolean().optional(),
  }),
  unsubscribe: z.object({ room: z.string() }),
  checkpoint: z.object({
    orderId: z.string(),
    seq: z.number().int(),
    /** The order's status after the checkpoint: for a late one, its current status, not the one posted. */
    status: statusSchema,
    duplicate: z.boolean(),
    /** False when the checkpoint was late (recorded with `late: true`, status unchanged). */
    applied: z.boolean(),
  }),
  message: z.object({ orderId: z.string(), seq: z.number().int(), duplicate: z.boolean() }),
  read: z.object({ orderId: z.string(), seq: z.number().int() }),
  ackAlert: z.object({ alert: alertViewSchema }),
  ping: z.object({ now: z.string() }),
  /** The connection's new expiry, epoch seconds. */
  auth: z.object({ exp: z.number() }),
} as const;

/** Every action: what a client sends, and what its ack carries. */
export const ACTIONS = {
  subscribe: { request: subscribeFrameSchema, ack: ackSchemas.subscribe },
  unsubscribe: { request: unsubscribeFrameSchema, ack: ackSchemas.unsubscribe },
  checkpoint: { request: checkpointFrameSchema, ack: ackSchemas.checkpoint },
  message: { request: messageFrameSchema, ack: ackSchemas.message },
  read: { request: readFrameSchema, ack: ackSchemas.read },
  ackAlert: { request: ackAlertFrameSchema, ack: ackSchemas.ackAlert },
  ping: { request: pingFrameSchema, ack: ackSchemas.ping },
  auth: { request: authFrameSchema, ack: ackSchemas.auth },
} as const satisfies Record<string, { request: z.ZodType<{ action: string }>; ack: z.ZodType }>;

export type Action = keyof typeof ACTIONS;
/** A parsed request of one action (`action` and `reqId?` included). */
export type RequestOf<A extends Action> = z.infer<(typeof ACTIONS)[A]['request']>;
/** The fields an action's ack carries besides `type` and `reqId`. */
export type AckFieldsOf<A extends Action> = z.infer<(typeof ACTIONS)[A]['ack']>;
/** An action's ack as it arrives. */
export type AckOf<A extends Action> = { type: 'ack'; reqId?: string } & AckFieldsOf<A>;

/** `Omit` over each member of a union (a checkpoint request is a union on `status`). */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** What a caller passes to send a request: the request without its `reqId` (the requester sets it). */
export type RequestInput<A extends Action> = DistributiveOmit<RequestOf<A>, 'reqId'> & { readonly action: A };

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.hasOwn(ACTIONS, value);
}

/**
 * Parse a request of `action` with its schema from the table.
 *
 * @throws {ValidationError} naming the first bad field, every issue in `details.issues`
 */
export function parseRequest<A extends Action>(action: A, body: unknown): RequestOf<A> {
  // TypeScript cannot follow a generic key into the table's zod types; the schema is ACTIONS[A]'s, so its output is RequestOf<A>.
  const schema: z.ZodType = ACTIONS[action].request;
  return parseOrThrow(schema, body, action) as RequestOf<A>;
}

/** An error reply (CONTRACT §5). */
export interface ErrorReply {
  readonly type: 'error';
  readonly reqId?: string;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: unknown;
}

/** Any reply to a request. */
export type Reply = ({ type: 'ack'; reqId?: string } & Record<string, unknown>) | ErrorReply;

/** A request's `reqId` to echo: a non-empty string of at most 128 characters, else undefined. */
export function reqIdOf(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const reqId = (value as { reqId?: unknown }).reqId;
  return typeof reqId === 'string' && reqId.length > 0 && reqId.length <= REQ_ID_MAX ? reqId : undefined;
}

/**
 * The `reqId` of a frame's text, for a reply to a frame that is refused
 * before it is read as a request (too large, over its rate): undefined when
 * the text is not JSON, has none, or is over 128 KiB (no frame can be; the
 * text is not even parsed then).
 */
export function reqIdOfText(text: string): string | undefined {
  if (text.length > 128 * 1024) return undefined;
  try {
    return reqIdOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** An ack: `type`, the request's `reqId` when it had one, then the action's fields. */
export function ackReply<A extends Action>(reqId: string | undefined, fields: AckFieldsOf<A>): AckOf<A> {
  return { type: 'ack', ...(reqId !== undefined && { reqId }), ...fields };
}

/** The error reply for `err` (a public error: its code, message and details as they are). */
export function errorReply(err: Pick<WaypostError, 'code' | 'message' | 'details'>, reqId: string | undefined): ErrorReply {
  return {
    type: 'error',
    ...(reqId !== undefined && { reqId }),
    code: err.code,
    message: err.message,
    ...(err.details !== undefined && { details: err.details }),
  };
}
