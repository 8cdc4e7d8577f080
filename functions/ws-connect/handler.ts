/**
 * `$connect`: the token (query parameter `token`, as browsers cannot set
 * headers on a WebSocket) is verified before the socket opens; a bad one is
 * refused with 401 and no socket is opened.
 *
 * The handler only decides; `connectErrors` renders what it throws, once for
 * this transport: API Gateway refuses the upgrade with the route response's
 * status, and its body is plain text (a WebSocket client never sees it; an
 * HTTP client does).
 */
import middy, { type MiddlewareObj } from '@middy/core';
import { UnauthorizedError } from '../../shared/domain/errors';
import { bearerToken } from '../../shared/runtime/auth';
import type { Logger } from '../../shared/runtime/log';
import { parseEvent } from '../common/parse-event';
import { logger, realtimeService, verifyToken, type App } from '../common/wiring';
import { wsConnectEventSchema, type WsConnectEvent, type WsResult } from '../common/ws-events';

/**
 * The `$connect` error renderer: `UnauthorizedError` → 401 with its message
 * as the body; anything else → 500 with no body, logged (`connect failed`).
 */
export function connectErrors(log: () => Logger): MiddlewareObj<WsConnectEvent, WsResult> {
  return {
    name: 'connect-errors',
    onError: (request) => {
      if (request.error instanceof UnauthorizedError) {
        request.response = { statusCode: 401, body: request.error.message };
        return;
      }
      log().error('connect failed', { error: request.error });
      request.response = { statusCode: 500 };
    },
  };
}

/** `$connect` over an app's parts (the module's `handler`: the default app's). */
export function connectHandler({ logger, realtimeService, verifyToken }: Pick<App, 'logger' | 'realtimeService' | 'verifyToken'>) {
  /**
   * Verify the token and record the connection.
   *
   * @throws {UnauthorizedError} for a missing, bad or expired token
   */
  async function connect(event: WsConnectEvent): Promise<WsResult> {
    const token =
      event.queryStringParameters?.token ?? bearerToken(event.headers?.authorization ?? event.headers?.Authorization);
    const verified = await verifyToken()(token);
    await realtimeService().connect(event.requestContext.connectionId, verified);
    return { statusCode: 200 };
  }

  return middy(connect).use(parseEvent(wsConnectEventSchema)).use(connectErrors(logger));
}

export const handler = connectHandler({ logger, realtimeService, verifyToken });
