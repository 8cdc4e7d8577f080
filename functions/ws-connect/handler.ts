/**
 * `$connect`: the token (query parameter `token`, as browsers cannot set
 * headers on a WebSocket) is verified before the socket opens; a bad one is
 * refused with 401 and no socket is opened.
 */
import middy from '@middy/core';
import { UnauthorizedError } from '../../shared/domain/errors';
import { bearerToken } from '../../shared/runtime/auth';
import { parseEvent } from '../common/parse-event';
import { logger, realtimeService, verifyToken, type App } from '../common/wiring';
import { wsConnectEventSchema, type WsConnectEvent, type WsResult } from '../common/ws-events';

/** `$connect` over an app's parts (the module's `handler`: the default app's). */
export function connectHandler({ logger, realtimeService, verifyToken }: Pick<App, 'logger' | 'realtimeService' | 'verifyToken'>) {
  async function connect(event: WsConnectEvent): Promise<WsResult> {
    const token =
      event.queryStringParameters?.token ?? bearerToken(event.headers?.authorization ?? event.headers?.Authorization);
    try {
      const verified = await verifyToken()(token);
      await realtimeService().connect(event.requestContext.connectionId, verified);
      return { statusCode: 200 };
    } catch (err) {
      if (err instanceof UnauthorizedError) return { statusCode: 401, body: err.message };
      logger().error('connect failed', { error: err });
      return { statusCode: 500 };
    }
  }

  return middy(connect).use(parseEvent(wsConnectEventSchema));
}

export const handler = connectHandler({ logger, realtimeService, verifyToken });
