/**
 * Fidelity against an outside reference: the events the local gateway and
 * the local stream pump actually produce are parsed with Powertools'
 * parser schemas (`@aws-lambda-powertools/parser` 2.35.0), which are built
 * from events captured in AWS. A handler that adopted those schemas must
 * behave the same locally as in AWS.
 *
 * Powertools has one WebSocket schema, `APIGatewayProxyWebsocketEventSchema`;
 * its `type` and `methodArn` are the fields of a `REQUEST` authorizer's
 * event, which a proxy integration never gets, so `$connect` is parsed
 * without those two, and `$default`/`$disconnect` (which carry no headers or
 * query) by the schema's `requestContext`, `isBase64Encoded` and `body`.
 * Powertools takes any string as `requestTime`/`time`; API Gateway's format
 * (CLF) is checked here too.
 */
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { APIGatewayProxyEventV2Schema, APIGatewayProxyWebsocketEventSchema, DynamoDBStreamSchema } from '@aws-lambda-powertools/parser/schemas';
import type { APIGatewayProxyEventV2, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { LOCAL_REGION, streamArnOf } from '../../local/dynamodb';
import { LocalGateway } from '../../local/gateway';
import { StreamPump } from '../../local/stream-pump';
import { DEFAULT_SLA_POLICY } from '../../shared/domain/sla';
import type { Principal } from '../../shared/domain/model';
import { createLogger } from '../../shared/runtime/log';
import { OrdersService } from '../../shared/services/orders-service';
import { TIMELINE_INSERT_FILTER } from '../../shared/store/stream-records';
import { DynamoOrderStore } from '../../shared/store/dynamo-order-store';
import { DynamoPolicyStore } from '../../shared/store/policy-store';
import { createTestTables } from '../support/tables';

const CLF = /^\d\d\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d\d:\d\d:\d\d \+0000$/;
const quiet = createLogger();

const wsConnectSchema = APIGatewayProxyWebsocketEventSchema.omit({ type: true, methodArn: true });
const wsRouteSchema = APIGatewayProxyWebsocketEventSchema.pick({ requestContext: true, isBase64Encoded: true, body: true });

const captured: { connect: unknown[]; message: unknown[]; disconnect: unknown[]; http: APIGatewayProxyEventV2[] } = {
  connect: [],
  message: [],
  disconnect: [],
  http: [],
};
let gateway: LocalGateway;

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  const handlers = {
    connect: (e: unknown) => (captured.connect.push(e), { statusCode: 200 }),
    message: (e: unknown) => (captured.message.push(e), { statusCode: 200, body: 'ok' }),
    disconnect: (e: unknown) => (captured.disconnect.push(e), { statusCode: 200 }),
    http: (e: APIGatewayProxyEventV2) => (captured.http.push(e), { statusCode: 204 }),
  };
  gateway = new LocalGateway({
    port: 0,
    handlers: () => handlers,
    log: quiet,
    idleSeconds: 60,
    maxSeconds: 60,
    routes: [],
    isReady: () => true,
    managementCredentials: { accessKeyId: 'AKIDFIDELITY', secretAccessKey: 'not-used' },
  });
  await gateway.listen();
});
afterAll(() => gateway.close());

describe('the local gateway against Powertools parser schemas', () => {
  it('produces $connect, $default and $disconnect events that parse as API Gateway WebSocket events', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/ws?token=t1&k=a&k=b`, { headers: { 'user-agent': 'fidelity/1' } });
    const reply = new Promise<string>((resolve) => ws.once('message', (d) => resolve(d.toString())));
    await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
    ws.send(JSON.stringify({ action: 'ping', reqId: 'r1' }));
    expect(await reply).toBe('ok');
    ws.close();
    await until(() => captured.disconnect.length === 1);

    const connect = wsConnectSchema.parse(captured.connect[0]);
    expect(connect.requestContext).toMatchObject({ eventType: 'CONNECT', routeKey: '$connect', identity: { sourceIp: '127.0.0.1', userAgent: 'fidelity/1' } });
    expect(connect.queryStringParameters).toEqual({ token: 't1', k: 'b' });
    expect(connect.multiValueQueryStringParameters).toEqual({ token: ['t1'], k: ['a', 'b'] });
    expect(connect.multiValueHeaders['user-agent']).toEqual(['fidelity/1']);

    const message = wsRouteSchema.parse(captured.message[0]);
    expect(message).toMatchObject({ body: '{"action":"ping","reqId":"r1"}', isBase64Encoded: false, requestContext: { eventType: 'MESSAGE', routeKey: '$default' } });
    const disconnect = wsRouteSchema.parse(captured.disconnect[0]);
    expect(disconnect.requestContext).toMatchObject({ eventType: 'DISCONNECT', routeKey: '$disconnect' });

    const id = connect.requestContext.connectionId;
    for (const e of [connect, message, disconnect]) {
      expect(e.requestContext.connectionId).toBe(id);
      expect(e.requestContext.requestTime).toMatch(CLF);
      expect(e.requestContext.identity.sourceIp).toBe('127.0.0.1');
    }
  });

  it('produces HTTP API events that parse as payload 2.0', async () => {
    const res = await fetch(`http://127.0.0.1:${gateway.port}/api/orders/o-1?x=1&x=2`, {
      method: 'POST',
      headers: { cookie: 'a=1; b=2', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(res.status).toBe(204);
    const e = APIGatewayProxyEventV2Schema.parse(captured.http[0]);
    expect(e).toMatchObject({
      routeKey: '$default',
      rawPath: '/api/orders/o-1',
      rawQueryString: 'x=1&x=2',
      cookies: ['a=1', 'b=2'],
      body: '{"a":1}',
      requestContext: { http: { method: 'POST', path: '/api/orders/o-1', sourceIp: '127.0.0.1' } },
    });
    expect(e.requestContext.time).toMatch(CLF);
  });
});

describe('the local stream pump against Powertools parser schemas', () => {
  it('delivers batches that parse as DynamoDB stream events', async () => {
    const tables = await createTestTables(inject('dynamodbEndpoint'));
    const orders = new OrdersService({ orders: new DynamoOrderStore(tables.doc, tables.orders), policies: new DynamoPolicyStore(tables.doc, tables.orders, DEFAULT_SLA_POLICY) });
    const batches: DynamoDBStreamEvent[] = [];
    const pump = new StreamPump({
      client: new DynamoDBStreamsClient({ endpoint: inject('dynamodbEndpoint'), region: LOCAL_REGION, credentials: inject('dynamodbCredentials') }),
      streamArn: await streamArnOf(tables.client, tables.orders),
      consumers: [
        {
          name: 'capture',
          // The fan-out's filter, as its mapping has it. Head images are not checked: DynamoDB Local 3.x
          // sends an empty map without its "M" (awslabs/amazon-dynamodb-local-samples#37), which no
          // Lambda consumer of ours reads (README, "Local stream filters").
          filter: [TIMELINE_INSERT_FILTER],
          handler: async (event: DynamoDBStreamEvent) => {
            batches.push(event);
            return { batchItemFailures: [] };
          },
        },
      ],
      log: quiet,
      idleMs: 20,
    });
    await pump.start();
    try {
      const retailer: Principal = { tenant: 'fid', role: 'retailer', sub: 'r', retailerId: 'r1' };
      await orders.create(retailer, { orderId: 'fid-1', retailerId: 'r1', recipient: { name: 'A' }, destination: { address: 'x' } });
      await until(() => batches.length > 0);
    } finally {
      await pump.stop();
    }
    const parsed = DynamoDBStreamSchema.parse(batches[0]);
    expect(parsed.Records[0]).toMatchObject({ eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: { StreamViewType: 'NEW_IMAGE' } });
    // Powertools unmarshalls the images: the key is the timeline item's.
    expect(parsed.Records[0]?.dynamodb.Keys).toMatchObject({ pk: expect.stringContaining('fid-1') });
  });
});
