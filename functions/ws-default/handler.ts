/**
 * `$default`: every client frame, routed on its `action` (there are no other
 * routes, so every frame, even one that is not JSON, arrives here and gets its
 * reply). The reply is the route response: API Gateway sends `body` back on
 * the same socket.
 */
import middy from '@middy/core';
import { config } from '../../shared/runtime/config';
import { frameRateLimit } from '../common/frame-rate';
import { parseEvent } from '../common/parse-event';
import { realtimeService } from '../common/wiring';
import { wsMessageEventSchema, type WsMessageEvent, type WsResult } from '../common/ws-events';

export async function route(event: WsMessageEvent): Promise<WsResult> {
  const body =
    event.body != null && event.isBase64Encoded === true ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  const reply = await realtimeService().handleFrame(event.requestContext.connectionId, body ?? undefined);
  // Null: the reply went over @connections before the connection was closed.
  return reply === null ? { statusCode: 200 } : { statusCode: 200, body: JSON.stringify(reply) };
}

/** `$default`, with the per-connection frame rate where the handler enforces it (the cloud). */
export const handler = middy(route)
  .use(parseEvent(wsMessageEventSchema))
  .use(frameRateLimit({ enabled: () => config().wsFrameLimit === 'handler' }));
