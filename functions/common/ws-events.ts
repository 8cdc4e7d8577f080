/**
 * The parts of API Gateway WebSocket events the handlers use, as zod schemas
 * (after Powertools' parser): parsed once at the boundary.
 */
import { z } from 'zod';

const requestContextSchema = z.object({
  routeKey: z.string(),
  connectionId: z.string().min(1),
  eventType: z.enum(['CONNECT', 'MESSAGE', 'DISCONNECT']),
  domainName: z.string().optional(),
  stage: z.string().optional(),
  requestId: z.string().optional(),
});

export const wsConnectEventSchema = z.object({
  requestContext: requestContextSchema,
  queryStringParameters: z.record(z.string(), z.string().optional()).nullish(),
  headers: z.record(z.string(), z.string().optional()).nullish(),
});
export type WsConnectEvent = z.infer<typeof wsConnectEventSchema>;

export const wsMessageEventSchema = z.object({
  requestContext: requestContextSchema,
  body: z.string().nullish(),
  isBase64Encoded: z.boolean().optional(),
});
export type WsMessageEvent = z.infer<typeof wsMessageEventSchema>;

export const wsDisconnectEventSchema = z.object({ requestContext: requestContextSchema });
export type WsDisconnectEvent = z.infer<typeof wsDisconnectEventSchema>;

/** A message event's frame as text: base64 decoded when API Gateway says so (binary frames). */
export function frameText(event: Pick<WsMessageEvent, 'body' | 'isBase64Encoded'>): string | undefined {
  const { body, isBase64Encoded } = event;
  if (body == null) return undefined;
  return isBase64Encoded === true ? Buffer.from(body, 'base64').toString('utf8') : body;
}

/** What a WebSocket route integration returns; API Gateway sends `body` back on the socket. */
export interface WsResult {
  statusCode: number;
  body?: string;
}
