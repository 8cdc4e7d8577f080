/** `$disconnect`: drop the connection and every room membership it held. */
import middy from '@middy/core';
import { parseEvent } from '../common/parse-event';
import { realtimeService, type App } from '../common/wiring';
import { wsDisconnectEventSchema, type WsDisconnectEvent, type WsResult } from '../common/ws-events';

/** `$disconnect` over an app's parts (the module's `handler`: the default app's). */
export function disconnectHandler({ realtimeService }: Pick<App, 'realtimeService'>) {
  async function disconnect(event: WsDisconnectEvent): Promise<WsResult> {
    await realtimeService().disconnect(event.requestContext.connectionId);
    return { statusCode: 200 };
  }

  return middy(disconnect).use(parseEvent(wsDisconnectEventSchema));
}

export const handler = disconnectHandler({ realtimeService });
