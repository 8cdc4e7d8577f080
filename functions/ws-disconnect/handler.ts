/** `$disconnect`: drop the connection and every room membership it held. */
import middy from '@middy/core';
import { parseEvent } from '../common/parse-event';
import { realtimeService } from '../common/wiring';
import { wsDisconnectEventSchema, type WsDisconnectEvent, type WsResult } from '../common/ws-events';

export async function disconnect(event: WsDisconnectEvent): Promise<WsResult> {
  await realtimeService().disconnect(event.requestContext.connectionId);
  return { statusCode: 200 };
}

export const handler = middy(disconnect).use(parseEvent(wsDisconnectEventSchema));
