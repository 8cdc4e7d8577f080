/**
 * zod schemas for everything that crosses the wire (CONTRACT §4, §5). Parse at
 * the boundary, once; inside, the inferred types are trusted.
 */
import { z } from 'zod';
import { ValidationError } from './errors';
import { STATUSES } from './statuses';
import { roomSchema } from './rooms';
import { clientText, idSchema } from './text';
import { isUnsafeKey, UNSAFE_KEYS } from './user-keys';

export { clientText, idSchema } from './text';

/** Tenants appear inside keys, so they are held to a safe alphabet. */
export const tenantSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"');

/** ISO 8601 with a zone (`Z` or an offset). */
export const isoTimeSchema = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with a zone' });

export const ROLES = ['driver', 'retailer', 'dispatcher'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

export const statusSchema = z.enum(STATUSES, { message: `must be one of: ${STATUSES.join(', ')}` });

/**
 * A number DynamoDB can store as sent: 0, or a magnitude from 1e-130 to
 * 2^53 - 1. DynamoDB's own range is 1e-130 to 9.99…e125 with 38 digits
 * (Amazon DynamoDB Developer Guide, "Supported data types and naming rules",
 * Number); the SDK's marshaller refuses anything above
 * `Number.MAX_SAFE_INTEGER`. Anything else would reach storage and fail
 * there as `INTERNAL`, so it is refused here as `VALIDATION`.
 */
export function storableNumber(schema: z.ZodNumber): z.ZodNumber {
  return schema.refine(
    (n) => n === 0 || (Math.abs(n) >= 1e-130 && Math.abs(n) <= Number.MAX_SAFE_INTEGER),
    'must be 0 or between 1e-130 and 9007199254740991 in magnitude',
  );
}

export const latSchema = storableNumber(z.number().finite().min(-90).max(90));
export const lngSchema = storableNumber(z.number().finite().min(-180).max(180));

export const locationSchema = z.object({
  lat: latSchema,
  lng: lngSchema,
  accuracyM: storableNumber(z.number().finite().min(0)).optional(),
});
export type Location = z.infer<typeof locationSchema>;

export const RECIPIENT_TYPES = ['self', 'proxy', 'locker', 'neighbor'] as const;
export const proofSchema = z.object({
  recipientType: z.enum(RECIPIENT_TYPES),
  recipientName: clientText().min(1).max(200).optional(),
  photoKey: idSchema.optional(),
  signatureKey: idSchema.optional(),
});
export type Proof = z.infer<typeof proofSchema>;

const noteSchema = clientText().max(4000, 'must be at most 4000 characters');
const reasonSchema = clientText().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters');
export const TEXT_MAX = 4000;

/** Request id: echoed in the reply. */
const reqIdSchema = idSchema.optional();

/**
 * A record schema (`z.record`, `z.partialRecord`: keys taken from the input)
 * that refuses the keys in `UNSAFE_KEYS` (`__proto__`, `constructor`,
 * `prototype`) with a VALIDATION issue naming the key's path, as a strict
 * object refuses an unknown key. zod 4's records skip a `__proto__` key
 * without a word (`{"__proto__": 5}` parses to `{}`, where every other
 * unknown key is refused), so a record of user keys must be wrapped in this.
 *
 * @param record the record schema; its output is what this returns.
 */
export function withSafeKeys<T extends z.ZodType>(record: T) {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      for (const key of Object.keys(value)) {
        if (isUnsafeKey(key)) {
          ctx.addIssue({ code: 'custom', path: [key], message: `is not allowed (${UNSAFE_KEYS.join(', ')} are never keys)` });
        }
      }
    })
    .pipe(record);
}

// ---------------------------------------------------------------- WebSocket

const checkpointBase = {
  action: z.literal('checkpoint'),
  reqId: reqIdSchema,
  eventId: idSchema,
  orderId: idSchema,
  occurredAt: isoTimeSchema,
  location: locationSchema.optional(),
  note: noteSchema.optional(),
  reason: reasonSchema.optional(),
  proof: proofSchema.optional(),
};

/** Statuses whose checkpoints need nothing beyond the base fields. */
const PLAIN_STATUSES = STATUSES.filter(
  (s): s is Exclude<(typeof STATUSES)[number], 'delivered' | 'attempt_failed' | 'exception'> =>
    s !== 'delivered' && s !== 'attempt_failed' && s !== 'exception',
);

/**
 * A checkpoint, as a union on `status`: `delivered` cannot exist without its
 * proof, `attempt_failed` and `exception` not without a reason.
 */
export const checkpointFrameSchema = z.discriminatedUnion('status', [
  z.object({ ...checkpointBase, status: z.literal('delivered'), proof: proofSchema }),
  z.object({ ...checkpointBase, status: z.literal('attempt_failed'), reason: reasonSchema }),
  z.object({ ...checkpointBase, status: z.literal('exception'), reason: reasonSchema }),
  z.object({ ...checkpointBase, status: z.enum(PLAIN_STATUSES) }),
]);
export type CheckpointFrame = z.infer<typeof checkpointFrameSchema>;

export const ATTACHMENT_KINDS = ['image', 'location', 'file'] as const;
export const attachmentSchema = z
  .object({
    kind: z.enum(ATTACHMENT_KINDS),
    key: idSchema.optional(),
    lat: latSchema.optional(),
    lng: lngSchema.optional(),
    name: clientText().min(1).max(256).optional(),
  })
  .refine((a) => (a.kind === 'location' ? a.lat !== undefined && a.lng !== undefined : a.key !== undefined), {
    message: 'a location attachment needs lat and lng; an image or file attachment needs key',
  });
export type Attachment = z.infer<typeof attachmentSchema>;

export const messageFrameSchema = z
  .object({
    action: z.literal('message'),
    reqId: reqIdSchema,
    messageId: idSchema,
    orderId: idSchema,
    text: clientText().min(1, 'must not be empty').max(TEXT_MAX, `must be at most ${TEXT_MAX} characters`).optional(),
    attachment: attachmentSchema.optional(),
  })
  .refine((m) => m.text !== undefined || m.attachment !== undefined, {
    message: 'a message needs text or an attachment',
    path: ['text'],
  });
export type MessageFrame = z.infer<typeof messageFrameSchema>;

export { roomSchema } from './rooms';

const seqSchema = z.number().int('must be an integer').min(0).max(Number.MAX_SAFE_INTEGER);

export const subscribeFrameSchema = z.object({
  action: z.literal('subscribe'),
  reqId: reqIdSchema,
  room: roomSchema,
  sinceSeq: seqSchema.optional(),
});
export const unsubscribeFrameSchema = z.object({
  action: z.literal('unsubscribe'),
  reqId: reqIdSchema,
  room: roomSchema,
});
export const readFrameSchema = z.object({
  action: z.literal('read'),
  reqId: reqIdSchema,
  orderId: idSchema,
  seq: seqSchema.min(1),
});
export const ackAlertFrameSchema = z.object({
  action: z.literal('ackAlert'),
  reqId: reqIdSchema,
  alertId: idSchema,
});
export const pingFrameSchema = z.object({ action: z.literal('ping'), reqId: reqIdSchema });
/** A fresh token for the same identity: the connection lives on until its `exp` (CONTRACT §2, §5). */
export const authFrameSchema = z.object({
  action: z.literal('auth'),
  reqId: reqIdSchema,
  token: z.string().min(1, 'must not be empty').max(16_384, 'must be at most 16384 characters'),
});

// ---------------------------------------------------------------- HTTP

/** E.164: `+`, then 7 to 15 digits. */
export const phoneSchema = z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 number such as +15550100001');

export const createOrderBodySchema = z.object({
  orderId: idSchema.optional(),
  retailerId: idSchema,
  recipient: z.object({
    name: clientText().min(1, 'must not be empty').max(200),
    phone: phoneSchema.optional(),
  }),
  destination: z.object({
    address: clientText().min(1, 'must not be empty').max(500),
    lat: latSchema.optional(),
    lng: lngSchema.optional(),
  }),
  promisedBy: isoTimeSchema.optional(),
});
export type CreateOrderBody = z.infer<typeof createOrderBodySchema>;

export const assignBodySchema = z.object({ driverId: idSchema });

/** The most items one HTTP list or timeline page may ask for (CONTRACT §4: `limit` is an integer in [1, 500]). */
export const PAGE_LIMIT_MAX = 500;

/**
 * A query string's whole number, written in plain decimal digits only: `1e2`,
 * `0x10`, `2.0` and ` 1` are refused, not read as numbers by `Number()`.
 */
function queryInteger(message: string, min: number, max: number) {
  return z
    .string({ error: message })
    .regex(/^[0-9]{1,16}$/, message)
    .transform(Number)
    .pipe(z.number().int(message).min(min, message).max(max, message));
}

/** A query string's `limit`: an integer in [1, 500], with one plain message for anything else ("abc", "0", "2.5", "501", "1e2"). */
const limitSchema = queryInteger(`must be an integer from 1 to ${PAGE_LIMIT_MAX}`, 1, PAGE_LIMIT_MAX);

export const listOrdersQuerySchema = z.object({
  status: statusSchema.optional(),
  retailerId: idSchema.optional(),
  stalled: z.enum(['true', 'false']).optional(),
  // Checked where it is opened (`runtime/cursor.ts`), length included, so every bad cursor answers alike: `details.field: "cursor"`.
  cursor: z.string().optional(),
  limit: limitSchema.optional(),
});

const sinceSeqSchema = queryInteger('must be a whole number from 0', 0, Number.MAX_SAFE_INTEGER);

export const timelineQuerySchema = z.object({
  sinceSeq: sinceSeqSchema.optional(),
  limit: limitSchema.optional(),
});

/** `GET /api/orders/{id}/timeline.csv`: a part from `sinceSeq` on (what the previous part's `Link: rel="next"` names). */
export const timelineCsvQuerySchema = z.object({
  sinceSeq: sinceSeqSchema.optional(),
});

// ---------------------------------------------------------------- identity

/** The latest `exp` a token may claim: 9999-12-31T23:59:59Z, in epoch seconds (the last second ISO 8601's four-digit years can write). */
export const MAX_TOKEN_EXP = 253_402_300_799;

export const claimsSchema = z
  .object({
    sub: idSchema,
    tenant: tenantSchema,
    role: roleSchema,
    retailerId: idSchema.optional(),
    // Epoch seconds (RFC 7519 NumericDate), at most 9999-12-31T23:59:59Z: it is stored (the connection's
    // expiry) and must stay a number DynamoDB takes; a token claiming more is refused like any bad token.
    exp: z.number().min(0).max(MAX_TOKEN_EXP),
  })
  .refine((c) => c.role !== 'retailer' || c.retailerId !== undefined, {
    message: 'a retailer token needs retailerId',
    path: ['retailerId'],
  });

// ---------------------------------------------------------------- parsing

/** A readable path such as `location.lat` or `proof`. */
function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p))).join('.').replace(/\.\[/g, '[');
}

/**
 * Parse `value` with `schema`, or throw a `ValidationError` whose message
 * names the first bad field and whose details list every issue.
 */
export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, what = 'request'): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ field: formatPath(i.path) || '(root)', message: i.message }));
  const first = issues[0] ?? { field: '(root)', message: 'invalid' };
  throw new ValidationError(`Invalid ${what}: "${first.field}" ${first.message}`, { issues });
}
