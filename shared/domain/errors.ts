/**
 * Named errors carrying the contract's codes (CONTRACT §4, §5). The domain
 * throws them; one mapping in each handler turns them into an HTTP error body
 * or a WebSocket error frame. Anything else is an `INTERNAL` whose details
 * never reach the caller.
 */

export const ERROR_CODES = [
  'BAD_JSON',
  'VALIDATION',
  'UNKNOWN_ACTION',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'ILLEGAL_TRANSITION',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'LIMIT_EXCEEDED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_JSON: 400,
  VALIDATION: 400,
  UNKNOWN_ACTION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ILLEGAL_TRANSITION: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  LIMIT_EXCEEDED: 429,
  INTERNAL: 500,
};

export class WaypostError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return HTTP_STATUS[this.code];
  }
}

export class BadJsonError extends WaypostError {
  constructor(message = 'The frame is not valid JSON.') {
    super('BAD_JSON', message);
  }
}

export class ValidationError extends WaypostError {
  constructor(message: string, details?: unknown) {
    super('VALIDATION', message, details);
  }
}

export class UnknownActionError extends WaypostError {
  constructor(action: string) {
    super('UNKNOWN_ACTION', `Unknown action "${action.slice(0, 64)}".`);
  }
}

export class UnauthorizedError extends WaypostError {
  constructor(message = 'A valid token is required.') {
    super('UNAUTHORIZED', message);
  }
}

export class ForbiddenError extends WaypostError {
  constructor(message = 'You are not allowed to do that.') {
    super('FORBIDDEN', message);
  }
}

export class NotFoundError extends WaypostError {
  constructor(message = 'Not found.') {
    super('NOT_FOUND', message);
  }
}

export class IllegalTransitionError extends WaypostError {
  constructor(from: string, to: string, allowed: readonly string[]) {
    super(
      'ILLEGAL_TRANSITION',
      allowed.length === 0
        ? `An order in status "${from}" is final and cannot move to "${to}".`
        : `An order in status "${from}" cannot move to "${to}"; it may move to: ${allowed.join(', ')}.`,
      { from, to, allowed },
    );
  }
}

export class ConflictError extends WaypostError {
  constructor(message: string, details?: unknown) {
    super('CONFLICT', message, details);
  }
}

export class PayloadTooLargeError extends WaypostError {
  constructor(limitBytes: number) {
    super('PAYLOAD_TOO_LARGE', `The request is larger than ${limitBytes} bytes.`, { limitBytes });
  }
}

export class RateLimitedError extends WaypostError {
  constructor(message = 'Too many requests; slow down and retry.') {
    super('RATE_LIMITED', message);
  }
}

/**
 * A standing limit is reached (CONTRACT §5: more than 500 rooms on one
 * connection). Unlike `RATE_LIMITED`, waiting does not help: the caller must
 * free something first (unsubscribe). `details.limit` is the limit.
 */
export class LimitExceededError extends WaypostError {
  constructor(message: string, limit: number) {
    super('LIMIT_EXCEEDED', message, { limit });
  }
}

export class InternalError extends WaypostError {
  constructor(message = 'Something went wrong on our side; the request may be retried.') {
    super('INTERNAL', message);
  }
}

/** The error a caller may see: a WaypostError as it is, anything else as INTERNAL. */
export function toPublicError(err: unknown): WaypostError {
  return err instanceof WaypostError ? err : new InternalError();
}
