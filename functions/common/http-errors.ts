/**
 * One renderer for HTTP errors (CONTRACT §4): the domain's error model
 * (`shared/domain/errors.ts`) as `{"error":{"code","message","details"?}}`
 * with the code's status, and a middy `onError` middleware that answers with
 * it. Anything that is not a `WaypostError` is `INTERNAL` (500) and its
 * details never reach the caller; it is logged instead.
 */
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { toPublicError } from '../../shared/domain/errors';
import type { Logger } from '../../shared/runtime/log';

type Result = APIGatewayProxyStructuredResultV2;

/** A JSON answer: `content-type: application/json; charset=utf-8`, `cache-control: no-store`. */
export function jsonResponse(statusCode: number, value: unknown): Result {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
    body: JSON.stringify(value),
  };
}

/** The HTTP answer for `err`: its contract code's status and error body (INTERNAL, 500, for anything unknown). */
export function httpErrorResponse(err: unknown): Result {
  const pub = toPublicError(err);
  return jsonResponse(pub.httpStatus, {
    error: { code: pub.code, message: pub.message, ...(pub.details !== undefined && { details: pub.details }) },
  });
}

/**
 * middy `onError`: answers with `httpErrorResponse`, logging an INTERNAL one
 * (`http request failed`, with the path and the error, redacted by the
 * logger). `log` is called only then, so a handler's logger is built lazily.
 */
export function httpErrors(log: () => Logger): middy.MiddlewareObj<APIGatewayProxyEventV2, Result> {
  return {
    onError: (request) => {
      if (toPublicError(request.error).code === 'INTERNAL') log().error('http request failed', { path: request.event.rawPath, error: request.error });
      request.response = httpErrorResponse(request.error);
    },
  };
}
