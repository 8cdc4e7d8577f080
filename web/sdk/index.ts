/**
 * The Waypost SDK's public API (`waypost/sdk`): the realtime client, the
 * HTTP half, the requester, their errors and types, and the socket
 * adapters. Browser-safe: it imports only the browser-safe domain modules
 * (`shared/domain`) and its own files.
 */
export { WaypostClient } from './client';
export { WaypostRequestError, Requester, type RequesterOptions } from './requester';
export { WaypostHttp, type WaypostHttpOptions, type TimelinePage } from './http';
export { nodeWebSocket, browserWebSocket, type WebSocketLike, type NodeWebSocket } from './socket';
export { TOKEN_EXPIRED_CLOSE_CODE, type ConnectionState } from './connection';
export { Backoff } from './backoff';
export type { RoomHandlers, RoomRevoked, RoomState } from './room';
export type { KeyValueStorage, OutboxItem } from './outbox';
export { tokenTimes, type TokenSource, type TokenTimes } from './token';
export type * from './types';
export type { AckOf, Action, Reply, RequestInput } from '../../shared/domain/protocol';
export type { ErrorCode } from '../../shared/domain/errors';
export type { OrderEvent } from '../../shared/domain/model';
