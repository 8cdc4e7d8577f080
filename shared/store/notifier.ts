/**
 * Pushing a frame to one WebSocket connection, and closing one. The API
 * Gateway implementation works unchanged against the local gateway's
 * `@connections` API.
 */
import {
  DeleteConnectionCommand,
  GoneException,
  PostToConnectionCommand,
  type ApiGatewayManagementApiClient,
} from '@aws-sdk/client-apigatewaymanagementapi';

export interface Notifier {
  /** `gone` when the connection no longer exists (API Gateway's 410). */
  send(connectionId: string, data: string): Promise<'sent' | 'gone'>;
  /**
   * Close a connection from the server side (API Gateway's
   * `DeleteConnection`; its `$disconnect` follows): `gone` when it no longer
   * existed. Throws on any other failure.
   */
  disconnect(connectionId: string): Promise<'closed' | 'gone'>;
}

/**
 * How long one `@connections` call may take, in milliseconds, before it
 * counts as failed (the event is then retried). API Gateway answers a push
 * without waiting for the client to read, so this bounds only a slow or
 * unreachable API, never a slow reader.
 */
export const PUSH_TIMEOUT_MS = 3000;

/** Thrown when a `@connections` call took longer than its timeout. */
export class PushTimeoutError extends Error {
  constructor(
    readonly connectionId: string,
    readonly timeoutMs: number,
  ) {
    super(`@connections call for ${connectionId} took longer than ${timeoutMs} ms`);
    this.name = 'PushTimeoutError';
  }
}

export class ApiGatewayNotifier implements Notifier {
  private readonly encoder = new TextEncoder();

  /**
   * @param client the management API client (its endpoint is the stage's callback URL)
   * @param timeoutMs per call, see `PUSH_TIMEOUT_MS`
   */
  constructor(
    private readonly client: ApiGatewayManagementApiClient,
    private readonly timeoutMs = PUSH_TIMEOUT_MS,
  ) {}

  /**
   * Run one call with the timeout: the request is aborted (the SDK's
   * `abortSignal`) and, whatever the request handler does with the signal,
   * the caller is answered `PushTimeoutError` when it passes.
   */
  private async call(connectionId: string, request: (abortSignal: AbortSignal) => Promise<unknown>): Promise<void> {
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new PushTimeoutError(connectionId, this.timeoutMs));
      }, this.timeoutMs);
    });
    try {
      await Promise.race([request(abort.signal), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** @throws PushTimeoutError past the timeout; any other API error but 410 */
  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    try {
      const command = new PostToConnectionCommand({ ConnectionId: connectionId, Data: this.encoder.encode(data) });
      await this.call(connectionId, (abortSignal) => this.client.send(command, { abortSignal }));
      return 'sent';
    } catch (err) {
      if (err instanceof GoneException) return 'gone';
      throw err;
    }
  }

  async disconnect(connectionId: string): Promise<'closed' | 'gone'> {
    try {
      const command = new DeleteConnectionCommand({ ConnectionId: connectionId });
      await this.call(connectionId, (abortSignal) => this.client.send(command, { abortSignal }));
      return 'closed';
    } catch (err) {
      if (err instanceof GoneException) return 'gone';
      throw err;
    }
  }
}
