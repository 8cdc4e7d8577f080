/**
 * AWS clients, built once per process from config. The endpoint override is
 * how the local runtime points the very same code at DynamoDB Local and its
 * own `@connections` API: there is no `if (local)` anywhere else.
 */
import { ApiGatewayManagementApiClient, type ApiGatewayManagementApiClientConfig } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PUSH_TIMEOUT_MS } from '../store/notifier';
import { config } from './config';

let dynamo: DynamoDBClient | undefined;
let doc: DynamoDBDocumentClient | undefined;
let management: ApiGatewayManagementApiClient | undefined;
let sns: SNSClient | undefined;
let managementTransport: ApiGatewayManagementApiClientConfig['requestHandler'];

/**
 * Answer `@connections` calls with this request handler instead of HTTP. The
 * local runtime passes its gateway's in-process transport here (before the
 * first push): the client, its serialization and signing stay the same.
 */
export function useManagementTransport(handler: ApiGatewayManagementApiClientConfig['requestHandler']): void {
  if (management !== undefined) throw new Error('useManagementTransport must be called before the first push');
  managementTransport = handler;
}

export function dynamoClient(): DynamoDBClient {
  const c = config();
  dynamo ??= new DynamoDBClient({
    region: c.region,
    ...(c.dynamodbEndpoint !== undefined && { endpoint: c.dynamodbEndpoint }),
    maxAttempts: 4,
  });
  return dynamo;
}

export function documentClient(): DynamoDBDocumentClient {
  doc ??= DynamoDBDocumentClient.from(dynamoClient(), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
  return doc;
}

export function managementClient(): ApiGatewayManagementApiClient {
  const c = config();
  if (c.callbackUrl === undefined) throw new Error('Configuration: WAYPOST_CALLBACK_URL must be set to push to connections');
  management ??= new ApiGatewayManagementApiClient({
    region: c.region,
    endpoint: c.callbackUrl,
    maxAttempts: 3,
    // Each call is also bounded by the notifier's own timeout (PUSH_TIMEOUT_MS).
    requestHandler: managementTransport ?? { connectionTimeout: 1000, requestTimeout: PUSH_TIMEOUT_MS },
  });
  return management;
}

export function snsClient(): SNSClient {
  const c = config();
  sns ??= new SNSClient({ region: c.region, ...(c.snsEndpoint !== undefined && { endpoint: c.snsEndpoint }), maxAttempts: 3 });
  return sns;
}
