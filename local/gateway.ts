/**
 * The local API Gateway, by event shape (after serverless-offline): the
 * server (`gateway/server.ts`), the WebSocket API (`gateway/websocket.ts`),
 * the `@connections` API (`gateway/connections-api.ts`), the HTTP API
 * (`gateway/http-api.ts`) and the events they build (`gateway/events.ts`).
 * This module re-exports what the rest of the runtime uses.
 */
export { LocalGateway, type GatewayHandlers, type GatewayOptions, type LocalRoute } from './gateway/server';
export { INBOUND_WAITING_MAX, isAuthFrame, TOKEN_EXPIRED_CLOSE_CODE, WS_MESSAGE_MAX_BYTES } from './gateway/websocket';
export { managementId, type ManagementTransport } from './gateway/connections-api';
export { decodedOrNull, requestUrl, sendJson } from './gateway/http';
export { apiQuery, clfTime, flatHeaders } from './gateway/events';
export type { WsConnectEventV2, WsDisconnectEventV2, WsMessageEventV2 } from './gateway/events';
