/**
 * The HTTP API (CONTRACT §4): one function behind `/api/{proxy+}`, with API
 * Gateway's JWT authorizer in front (the function verifies the token again,
 * so no route depends on the edge alone). `GET /api/health` is public.
 */
import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi as ApiGatewayHttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { INDEX } from '../shared/store/tables';
import { AppFunction } from './app-function';
import type { DataTables } from './data-tables';
import { functionEnvironment } from './function-environment';
import { grantTableAccess } from './grants';
import { acknowledge } from './nag';
import type { WaypostConfig } from './stage-config';

export interface HttpApiProps {
  readonly config: WaypostConfig;
  readonly tables: DataTables;
  /** Browser origins allowed by CORS (the console's). */
  readonly allowOrigins: string[];
}

/** As for the WebSocket stage: well under the account limit, so one client cannot starve the rest. */
export const HTTP_THROTTLE = { rateLimit: 200, burstLimit: 400 } as const;

export class HttpApi extends Construct {
  readonly api: ApiGatewayHttpApi;
  readonly stage: HttpStage;
  readonly fn: AppFunction;
  readonly cursorSecret: Secret;

  constructor(scope: Construct, id: string, props: HttpApiProps) {
    super(scope, id);
    const { config, tables } = props;

    // The key that signs list cursors (shared/runtime/cursor.ts): generated once, kept across deploys.
    this.cursorSecret = new Secret(this, 'CursorSecret', {
      description: 'Waypost: signs the HTTP API list cursors (any 32+ characters; replacing it only invalidates cursors in flight)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    acknowledge(
      this.cursorSecret,
      'AwsSolutions-SMG4',
      'The cursor key only signs list positions of one tenant and query; a leak lets a caller skip around its own list, nothing more. Replacing it by hand invalidates cursors in flight (clients list again from page one), so it is not rotated on a schedule.',
    );

    this.fn = new AppFunction(this, 'Fn', {
      name: 'http-api',
      description: 'Waypost HTTP API: orders, timelines, CSV, alerts, SLA policy',
      // A dynamic reference: CloudFormation resolves it at deploy; the template holds no key.
      environment: { ...functionEnvironment(config, tables), WAYPOST_CURSOR_SECRET: this.cursorSecret.secretValue.unsafeUnwrap() },
      logRetention: config.logRetention,
      timeout: Duration.seconds(15),
    });
    grantTableAccess(this.fn, {
      table: tables.orders,
      actions: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem'],
      queryIndexes: [INDEX.byTenant, INDEX.byRetailer, INDEX.byDriver, INDEX.byAlertState],
    });

    this.api = new ApiGatewayHttpApi(this, 'Api', {
      apiName: `waypost-${config.stage}-http`,
      description: 'Waypost HTTP API',
      // `$default` stage: the function matches `rawPath`, which would carry a named stage's prefix.
      createDefaultStage: false,
      defaultAuthorizer: new HttpJwtAuthorizer('JwtAuthorizer', config.jwtIssuer, {
        jwtAudience: [config.jwtAudience],
      }),
      corsPreflight: {
        allowOrigins: props.allowOrigins,
        allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST, CorsHttpMethod.PUT],
        allowHeaders: ['authorization', 'content-type'],
        exposeHeaders: ['content-disposition', 'link'],
        maxAge: Duration.hours(1),
      },
    });
    const integration = new HttpLambdaIntegration('Integration', this.fn);
    // Methods are listed, not ANY: an OPTIONS preflight must reach API Gateway's CORS answer, not the authorizer.
    this.api.addRoutes({ path: '/api/{proxy+}', methods: [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT], integration });
    const [health] = this.api.addRoutes({
      path: '/api/health',
      methods: [HttpMethod.GET],
      integration,
      authorizer: new HttpNoneAuthorizer(),
    });
    if (health) {
      acknowledge(health, 'AwsSolutions-APIG4', 'GET /api/health is a public liveness probe by design: it answers {"ok":true} and reads nothing.');
    }

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: config.logRetention });
    this.stage = this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: HTTP_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            route: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            authorizerError: '$context.authorizer.error',
          }),
        ),
      },
    });
  }

  /** `https://<id>.execute-api.<region>.amazonaws.com/` */
  get url(): string {
    return this.stage.url;
  }
}
