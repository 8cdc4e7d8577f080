/**
 * The WebSocket edge and the fan-out: API Gateway routes `$connect`,
 * `$disconnect` and `$default` to their functions, and the `orders` stream
 * wakes the fan-out function for timeline inserts only, which pushes each new
 * event to its rooms through the stage's `@connections` API.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Alarm, ComparisonOperator, TreatMissingData, type AlarmProps } from 'aws-cdk-lib/aws-cloudwatch';
import { Grant } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TIMELINE_INSERT_FILTER } from '../shared/store/stream-records';
import { AppFunction } from './app-function';
import type { DataTables } from './data-tables';
import { functionEnvironment } from './function-environment';
import { grantTableAccess } from './grants';
import { acknowledge, wildcardResourceFinding } from './nag';
import type { WaypostConfig } from './stage-config';
import { StreamConsumer } from './stream-consumer';

export interface RealtimeApiProps {
  readonly config: WaypostConfig;
  readonly tables: DataTables;
}

/**
 * Steady-state limits of the stage (messages and connects per second across
 * all clients). Far below the account's 10,000/s, so one noisy tenant or a
 * reconnect storm cannot starve the account's other APIs; raise with load.
 */
export const WEBSOCKET_THROTTLE = { rateLimit: 500, burstLimit: 1000 } as const;

/**
 * The fan-out's stream settings.
 *
 * - Window 0 s: a live timeline is the product, so a record is handed over as
 *   soon as the poller sees it (about 4 polls a second a shard); any window
 *   adds its whole length to every push when traffic is light.
 * - Batch 50: with no window, quiet traffic yields batches of one or two
 *   anyway; the size only caps a burst. A batch finishes before the shard's
 *   next one starts, so a modest cap bounds how long the slowest order in a
 *   batch (sequential per order, 16 orders at a time) holds the others, while
 *   still amortizing an invocation over many records under load.
 * - Bisect, partial failures, 5 retries, 10 minutes: a failing record is
 *   isolated and retried alone with what follows it in its order; after that
 *   the push is stale (clients catch up with `sinceSeq` on resubscribe) and
 *   the record's position goes to the on-failure queue, which alarms.
 */
export const FANOUT_STREAM = {
  batchSize: 50,
  maxBatchingWindow: Duration.seconds(0),
  retryAttempts: 5,
  maxRecordAge: Duration.minutes(10),
} as const;

/**
 * An alarm that fires on the first period at or over its threshold and stays
 * quiet while the metric has no data (no traffic is not a fault); `props`
 * overrides either.
 */
function alarm(scope: Construct, id: string, props: Omit<AlarmProps, 'evaluationPeriods'> & Partial<Pick<AlarmProps, 'evaluationPeriods'>>): Alarm {
  return new Alarm(scope, id, {
    evaluationPeriods: 1,
    comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: TreatMissingData.NOT_BREACHING,
    ...props,
  });
}

export class RealtimeApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly connectFn: AppFunction;
  readonly disconnectFn: AppFunction;
  readonly defaultFn: AppFunction;
  readonly fanoutFn: AppFunction;
  /** Where stream batches that ran out of retries are described. */
  readonly failedFanout: Queue;
  /** The fan-out's mapping on the orders stream (timeline inserts only). */
  readonly fanoutStream: StreamConsumer;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: RealtimeApiProps) {
    super(scope, id);
    const { config, tables } = props;
    const env = functionEnvironment(config, tables);
    const common = { environment: env, logRetention: config.logRetention };

    this.connectFn = new AppFunction(this, 'ConnectFn', {
      ...common,
      name: 'ws-connect',
      description: 'Waypost $connect: verify the JWT, record the connection',
    });
    grantTableAccess(this.connectFn, { table: tables.connections, actions: ['PutItem'] });

    this.disconnectFn = new AppFunction(this, 'DisconnectFn', {
      ...common,
      name: 'ws-disconnect',
      description: 'Waypost $disconnect: drop the connection and its room memberships',
    });
    grantTableAccess(this.disconnectFn, { table: tables.connections, actions: ['GetItem', 'BatchWriteItem'] });

    this.defaultFn = new AppFunction(this, 'DefaultFn', {
      ...common,
      name: 'ws-default',
      description: 'Waypost $default: route a client frame (subscribe, checkpoint, message, read, ackAlert, auth)',
    });
    grantTableAccess(this.defaultFn, { table: tables.orders, actions: ['GetItem', 'Query', 'PutItem', 'UpdateItem'] });
    grantTableAccess(this.defaultFn, { table: tables.connections, actions: ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'] });

    this.api = new WebSocketApi(this, 'Api', {
      apiName: `waypost-${config.stage}-realtime`,
      description: 'Waypost realtime: order rooms, checkpoints and chat',
      connectRouteOptions: { integration: new WebSocketLambdaIntegration('ConnectIntegration', this.connectFn) },
      disconnectRouteOptions: { integration: new WebSocketLambdaIntegration('DisconnectIntegration', this.disconnectFn) },
      // The reply to a frame is the route response: API Gateway sends it back on the same socket.
      defaultRouteOptions: {
        integration: new WebSocketLambdaIntegration('DefaultIntegration', this.defaultFn),
        returnResponse: true,
      },
    });
    acknowledge(
      this.api,
      'AwsSolutions-APIG4',
      'A WebSocket API authorizes once, at $connect, and has no JWT authorizer type: the $connect function verifies the JWT ' +
        '(query parameter "token", as browsers cannot set headers on a WebSocket) against the JWKS and refuses with 401 before ' +
        'the socket opens. $disconnect and $default cannot take an authorizer; every frame is tied to the principal stored at connect.',
    );
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName: config.stage,
      autoDeploy: true,
      throttle: WEBSOCKET_THROTTLE,
    });
    acknowledge(
      this.stage,
      'AwsSolutions-APIG1',
      "WebSocket access logs need the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), a per-region " +
        "singleton an application stack must not own; each route's invocations, errors and durations are in its function's JSON logs and Lambda metrics instead.",
    );

    this.fanoutFn = new AppFunction(this, 'FanoutFn', {
      ...common,
      name: 'fanout',
      description: 'Waypost fan-out: push each new timeline event to its rooms',
      timeout: Duration.seconds(30),
      environment: { ...env, WAYPOST_CALLBACK_URL: this.stage.callbackUrl },
    });
    // Members are queried per room; a gone (410) or expired member is read and deleted with its memberships; a member
    // whose right has gone leaves the room (one transaction: the connection's room set and the membership) and the
    // order room's epoch moves on (UpdateItem on the order head).
    grantTableAccess(this.fanoutFn, { table: tables.connections, actions: ['Query', 'GetItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'] });
    grantTableAccess(this.fanoutFn, { table: tables.orders, actions: ['UpdateItem'] });
    // The fan-out posts to members and deletes connections whose token expired; $default deletes a connection that
    // sends a frame after its token expired. Nothing else may manage connections.
    const connectionsArn = (method: 'POST' | 'DELETE') =>
      Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: `${this.stage.stageName}/${method}/@connections/*` });
    const manage = (fn: AppFunction, methods: readonly ('POST' | 'DELETE')[], why: string) => {
      const arns = methods.map(connectionsArn);
      Grant.addToPrincipal({ grantee: fn, actions: ['execute-api:ManageConnections'], resourceArns: arns });
      for (const arn of arns) acknowledge(fn.executionRole, wildcardResourceFinding(this, arn), why);
    };
    manage(
      this.fanoutFn,
      ['POST', 'DELETE'],
      'Connection ids are created at run time: the grant is POST (PostToConnection) and DELETE (DeleteConnection, for expired tokens) on this API and stage only, for any connection.',
    );
    this.defaultFn.addEnvironment('WAYPOST_CALLBACK_URL', this.stage.callbackUrl);
    manage(
      this.defaultFn,
      ['DELETE'],
      'Connection ids are created at run time: the grant is DELETE (DeleteConnection of a connection whose token expired) on this API and stage only, for any connection.',
    );

    this.failedFanout = new Queue(this, 'FanoutFailures', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledge(
      this.failedFanout,
      'AwsSolutions-SQS3',
      'This queue is itself the on-failure destination of the fan-out stream mapping; nothing consumes it automatically, so it needs no DLQ of its own (its depth alarms).',
    );
    this.fanoutStream = new StreamConsumer(this, 'FanoutStream', {
      fn: this.fanoutFn,
      table: tables.orders,
      filters: [TIMELINE_INSERT_FILTER],
      ...FANOUT_STREAM,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      onFailure: this.failedFanout,
    });

    this.alarms.push(
      alarm(this, 'FanoutFailuresAlarm', {
        alarmDescription: 'Stream batches gave up on fan-out: live pushes were lost (the events are stored). See the queue for their positions.',
        metric: this.failedFanout.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
      }),
      alarm(this, 'FanoutIteratorAgeAlarm', {
        alarmDescription: 'The fan-out is more than 30 s behind the orders stream: live timelines lag.',
        metric: this.fanoutFn.metric('IteratorAge', { period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 30_000,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      alarm(this, 'FanoutErrorsAlarm', {
        alarmDescription: 'The fan-out function failed whole invocations (not single records): batches are being retried.',
        metric: this.fanoutFn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
        threshold: 1,
      }),
    );
  }
}
