/**
 * AWS clients, built from config on first use, once per `Clients`. The
 * endpoint override is how the local runtime points the very same code at
 * DynamoDB Local and its own `@connections` API: there is no `if (local)`
 * anywhere else. What differs between a Lambda and the local runtime is
 * passed in (`ClientOptions`), never set on the process.
 */
import { ApiGatewayManagementApiClient, type ApiGatewayManagementApiClientConfig } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PUSH_TIMEOUT_MS } from '../store/notifier';
import type { Config } from './config';

/** The AWS clients the services use, each built on first use. */
export interface Clients {
  dynamo(): DynamoDBClient;
  /** The document client over `dynamo()`. */
  document(): DynamoDBDocumentClient;
  /** `@connections`: needs `callbackUrl` in the config (throws on first use without it). */
  management(): ApiGatewayManagementApiClient;
  sns(): SNSClient;
}

export interface ClientOptions {
  /**
   * Credentials for every client; unset (Lambda): the SDK's default chain
   * (the function role's variables).
   */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * Answer `@connections` calls with this request handler instead of HTTP
   * (the local runtime passes its gateway's in-process transport): the
   * client, its serialization and signing stay the same.
   */
  readonly managementRequestHandler?: ApiGatewayManagementApiClientConfig['requestHandler'];
}

function lazy<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

/**
 * The clients of one app, from its config (region, endpoints, callback URL)
 * and `options`. Nothing is built or connected until first asked for.
 */
export function createClients(config: Config, options: ClientOptions = {}): Clients {
  const credentials = options.credentials === undefined ? {} : { credentials: { ...options.credentials } };
  const dynamo = lazy(
    () =>
      new DynamoDBClient({
        region: config.region,
        ...(config.dynamodbEndpoint !== undefined && { endpoint: config.dynamodbEndpoint }),
        ...credentials,
        maxAttempts: 4,
      }),
  );
  const document = lazy(() =>
    DynamoDBDocumentClient.from(dynamo(), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    }),
  );
  const management = lazy(() => {
    if (config.callbackUrl === undefined) throw new Error('Configuration: WAYPOST_CALLBACK_URL must be set to push to connections');
    return new ApiGatewayManagementApiClient({
      region: config.region,
      endpoint: config.callbackUrl,
      ...credentials,
      maxAttempts: 3,
      // Each call is also bounded by the notifier's own timeout (PUSH_TIMEOUT_MS).
      requestHandler: options.managementRequestHandler ?? { connectionTimeout: 1000, requestTimeout: PUSH_TIMEOUT_MS },
    });
  });
  const sns = lazy(
    () =>
      new SNSClient({
        region: config.region,
        ...(config.snsEndpoint !== undefined && { endpoint: config.snsEndpoint }),
        ...credentials,
        maxAttempts: 3,
      }),
  );
  return { dynamo, document, management, sns };
}
