/**
 * Pushing a frame to one WebSocket connection. The API Gateway implementation
 * works unchanged against the local gateway's `@connections` API.
 */
import {
  GoneException,
  PostToConnectionCommand,
  type ApiGatewayManagementApiClient,
} from '@aws-sdk/client-apigatewaymanagementapi';

export interface Notifier {
  /** `gone` when the connection no longer exists (API Gateway's 410). */
  send(connectionId: string, data: string): Promise<'sent' | 'gone'>;
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
}
