/**
 * The Waypost stack: data tables, the WebSocket edge with its fan-out, the
 * HTTP API, the SLA escalation and the console, with their alarms on one
 * topic and the URLs as outputs.
 */
import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { fileURLToPath } from 'node:url';
import { Console } from './console';
import { DataTables } from './data-tables';
import { HttpApi } from './http-api';
import { RealtimeApi } from './realtime-api';
import { SlaEscalation } from './sla-escalation';
import type { WaypostConfig } from './stage-config';

export interface WaypostStackProps extends StackProps {
  readonly config: WaypostConfig;
  /** The console's files (default `web/public`). */
  readonly siteDir?: string;
}

export const DEFAULT_SITE_DIR = fileURLToPath(new URL('../web/public', import.meta.url));

export class WaypostStack extends Stack {
  readonly tables: DataTables;
  readonly realtime: RealtimeApi;
  readonly http: HttpApi;
  readonly sla: SlaEscalation;
  readonly console: Console;
  readonly alarmTopic: Topic;

  constructor(scope: Construct, id: string, props: WaypostStackProps) {
    super(scope, id, props);
    const { config } = props;
    if (config.missingJwtContext.length > 0) {
      Annotations.of(this).addWarningV2(
        'waypost:jwt-context-missing',
        `No ${config.missingJwtContext.join(', ')} in CDK context: placeholders are used and the deployed APIs will refuse every token. ` +
          'Deploy with -c jwksUrl=... -c jwtIssuer=... -c jwtAudience=...',
      );
    }

    this.tables = new DataTables(this, 'Data', { deletionProtection: config.deletionProtection });
    this.console = new Console(this, 'Console', { siteDir: props.siteDir ?? DEFAULT_SITE_DIR, logRetention: config.logRetention });
    this.realtime = new RealtimeApi(this, 'Realtime', { config, tables: this.tables });
    this.http = new HttpApi(this, 'Http', { config, tables: this.tables, allowOrigins: [this.console.url] });
    this.sla = new SlaEscalation(this, 'Sla', { config, tables: this.tables });
    this.console.publish({ wsUrl: this.realtime.stage.url, httpUrl: this.http.url });

    this.alarmTopic = new Topic(this, 'Alarms', { displayName: `Waypost ${config.stage} alarms`, enforceSSL: true });
    for (const alarm of [...this.realtime.alarms, ...this.sla.alarms]) alarm.addAlarmAction(new SnsAction(this.alarmTopic));

    new CfnOutput(this, 'WebSocketUrl', { value: this.realtime.stage.url, description: 'wss:// URL; connect with ?token=<JWT>' });
    new CfnOutput(this, 'HttpApiUrl', { value: this.http.url, description: 'Base URL of the HTTP API (routes under /api/)' });
    new CfnOutput(this, 'ConsoleUrl', { value: this.console.url, description: 'The web console' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn, description: 'Subscribe on-call here' });
    new CfnOutput(this, 'OrdersTableName', { value: this.tables.orders.tableName });
    new CfnOutput(this, 'ConnectionsTableName', { value: this.tables.connections.tableName });
  }
}
