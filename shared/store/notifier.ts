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

export class ApiGatewayNotifier implements Notifier {
  private readonly encoder = new TextEncoder();

  constructor(private readonly client: ApiGatewayManagementApiClient) {}

  async send(connectionId: string, data: string): Promise<'sent' | 'gone'> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: this.encoder.encode(data) }));
      return 'sent';
    } catch (err) {
      if (err instanceof GoneException) return 'gone';
      throw err;
    }
  }

  async disconnect(connectionId: string): Promise<'closed' | 'gone'> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
      return 'closed';
    } catch (err) {
      if (err instanceof GoneException) return 'gone';
      throw err;
    }
  }
}
