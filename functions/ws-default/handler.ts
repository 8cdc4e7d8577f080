/**
 * `$default`: every client frame, routed on its `action` (there are no other
 * routes, so every frame, even one that is not JSON, arrives here and gets its
 * reply). The reply is the route response: API Gateway sends `body` back on
 * the same socket.
 *
 * The middlewares do the transport: the event's shape (`parseEvent`), the
 * per-connection rate where the handler enforces it (`frameRateLimit`, the
 * cloud), and reading the frame and rendering errors (`wsFrame`). The handler
 * passes the read request to the service and wraps its ack.
 */
import middy from '@middy/core';
import { ackReply } from '../../shared/domain/protocol';
import { config } from '../../shared/runtime/config';
import type { Logger } from '../../shared/runtime/log';
import type { RealtimeService } from '../../shared/services/realtime-service';
import { frameRateLimit } from '../common/frame-rate';
import { parseEvent } from '../common/parse-event';
import { logger, realtimeService } from '../common/wiring';
import { wsMessageEventSchema, type WsMessageEvent, type WsResult } from '../common/ws-events';
import { replyResult, wsFrame, type FrameContext } from '../common/ws-frame';

/**
 * The `$default` handler over a service (composed once per process; tests
 * pass their own service and clock).
 */
export function wsDefaultHandler(deps: { service: () => Pick<RealtimeService, 'handle'>; log: () => Logger; frameLimit?: () => boolean }) {
  return middy<WsMessageEvent, WsResult, Error, FrameContext>(async (event: WsMessageEvent, context: FrameContext): Promise<WsResult> => {
    const frame = context.wsFrame;
    if (frame === undefined) throw new Error('ws-frame middleware did not run');
    const fields = await deps.service().handle(event.requestContext.connectionId, frame.action, frame.body, frame.reqId);
    // Null: the reply went over @connections before the connection was closed.
    return fields === null ? { statusCode: 200 } : replyResult(ackReply(frame.reqId, fields));
  })
    .use(parseEvent(wsMessageEventSchema))
    .use(frameRateLimit({ enabled: deps.frameLimit ?? (() => true) }))
    .use(wsFrame({ log: deps.log }));
}

/** `$default`, with the per-connection frame rate where the handler enforces it (the cloud). */
export const handler = wsDefaultHandler({
  service: realtimeService,
  log: () => logger().child({ fn: 'ws' }),
  frameLimit: () => config().wsFrameLimit === 'handler',
});
