/** The local HTTP API: `/api/*` as HTTP API (payload 2.0) events for the HTTP handler. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { invoke, type LambdaHandler } from '../lambda';
import { httpApiEvent } from './events';
import { HTTP_BODY_CAP_BYTES, readBody, sendJson } from './http';

export type HttpApiHandler = LambdaHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>;

/**
 * One `/api` request: a body over the local cap (1 MiB) is a 413 before any
 * handler runs; otherwise the handler's structured result is the answer
 * (status 200 when it sets none, a base64 body decoded).
 *
 * @param domainName `host:port` of the gateway, for the event.
 */
export async function handleApiRequest(handler: HttpApiHandler, req: IncomingMessage, res: ServerResponse, url: URL, domainName: string): Promise<void> {
  const body = await readBody(req, HTTP_BODY_CAP_BYTES);
  if (body === null) {
    sendJson(res, 413, { error: { code: 'PAYLOAD_TOO_LARGE', message: 'The request body is too large.' } });
    return;
  }
  const result = await invoke(handler, httpApiEvent(req, url, body, domainName));
  const responseHeaders: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) responseHeaders[k] = String(v);
  res.writeHead(result.statusCode ?? 200, responseHeaders);
  res.end(result.isBase64Encoded && result.body !== undefined ? Buffer.from(result.body, 'base64') : (result.body ?? ''));
}
