/**
 * The WebSocket transport of `$default`, once, as a middy middleware: the
 * frame's text (base64 decoded when API Gateway says so), its size, JSON, its
 * `reqId` and its action's name are read here, in that order, and every error
 * (from here, from the service, or unexpected) becomes the one error reply
 * of CONTRACT §5 on the same socket. The handler only gets a known action and
 * the frame as an object; the service decides the rest.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { BadJsonError, PayloadTooLargeError, toPublicError, UnknownActionError, ValidationError } from '../../shared/domain/errors';
import { errorReply, isAction, REQUEST_MAX_BYTES, reqIdOf, reqIdOfText, type Action } from '../../shared/domain/protocol';
import type { Logger } from '../../shared/runtime/log';
import { frameText, type WsMessageEvent, type WsResult } from './ws-events';

/** A frame read as a request: a known action, the whole JSON object, and the `reqId` its reply echoes. */
export interface ReadFrame {
  readonly action: Action;
  readonly body: Record<string, unknown>;
  readonly reqId: string | undefined;
}

/** The Lambda context of `$default` once the frame is read: `wsFrame` is set before the handler runs. */
export type FrameContext = Context & { wsFrame?: ReadFrame; wsReqId?: string };

/** A reply as the route response: API Gateway sends `body` back on the socket. */
export const replyResult = (reply: unknown): WsResult => ({ statusCode: 200, body: JSON.stringify(reply) });

/**
 * Read a frame's text as a request.
 *
 * @throws {PayloadTooLargeError} over 64 KiB (UTF-8)
 * @throws {BadJsonError} when it is not JSON
 * @throws {ValidationError} when it is not an object with a string `action`
 * @throws {UnknownActionError} for an action the protocol table does not have
 */
export function readFrame(text: string, noteReqId: (reqId: string | undefined) => void = () => undefined): ReadFrame {
  if (Buffer.byteLength(text, 'utf8') > REQUEST_MAX_BYTES) {
    noteReqId(reqIdOfText(text));
    throw new PayloadTooLargeError(REQUEST_MAX_BYTES);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadJsonError();
  }
  const reqId = reqIdOf(parsed);
  noteReqId(reqId);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ValidationError('Invalid request: a frame must be a JSON object with an "action".', {
      issues: [{ field: '(root)', message: 'must be an object' }],
    });
  }
  const body = parsed as Record<string, unknown>;
  const action = body.action;
  if (action === undefined || typeof action !== 'string') {
    throw new ValidationError('Invalid request: "action" is required and must be a string.', {
      issues: [{ field: 'action', message: 'required string' }],
    });
  }
  if (!isAction(action)) throw new UnknownActionError(action);
  return { action, body, reqId };
}

/**
 * The `$default` transport middleware: reads the frame into
 * `context.wsFrame` before the handler, and renders any error as the reply
 * (an unexpected one as `INTERNAL`, logged with its connection).
 */
export function wsFrame(options: { log: () => Logger }): MiddlewareObj<WsMessageEvent, WsResult, Error, FrameContext> {
  return {
    name: 'ws-frame',
    before: (request) => {
      request.context.wsFrame = readFrame(frameText(request.event) ?? '', (reqId) => {
        request.context.wsReqId = reqId;
      });
    },
    onError: (request) => {
      const publicError = toPublicError(request.error);
      if (publicError.code === 'INTERNAL') {
        options.log().error('frame failed', { connectionId: request.event.requestContext.connectionId, error: request.error });
      }
      request.response = replyResult(errorReply(publicError, request.context.wsReqId));
    },
  };
}
