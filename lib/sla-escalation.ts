/**
 * The SLA sweep: every minute EventBridge runs the function that opens alerts
 * for stalled orders and fires escalation levels, SMS ones through SNS.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { SMS_FAILED_METRIC, smsFailedDimensions } from '../shared/runtime/metrics';
import { INDEX } from '../shared/store/tables';
import { AppFunction } from './app-function';
import type { DataTables } from './data-tables';
import { functionEnvironment } from './function-environment';
import { grantTableAccess } from './grants';
import { acknowledge } from './nag';
import type { WaypostConfig } from './stage-config';

export interface SlaEscalationProps {
  readonly config: WaypostConfig;
  readonly tables: DataTables;
}

export class SlaEscalation extends Construct {
  readonly fn: AppFunction;
  readonly schedule: Rule;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: SlaEscalationProps) {
    super(scope, id);
    const { config, tables } = props;

    this.fn = new AppFunction(this, 'SweepFn', {
      name: 'sla-sweep',
      description: 'Waypost SLA sweep: open alerts for stalled orders, fire escalation levels, send owed SMS',
      environment: {
        ...functionEnvironment(config, tables),
        ...(config.smsSenderId !== undefined && { WAYPOST_SMS_SENDER_ID: config.smsSenderId }),
        // Turns the sweep's EMF metrics on, with this stage as their dimension (shared/runtime/metrics.ts).
        WAYPOST_METRICS_STAGE: config.stage,
      },
      logRetention: config.logRetention,
      // Under the one-minute period; a sweep that overruns is safe anyway (every write is conditional).
      timeout: Duration.seconds(50),
      // A failed sweep is not worth retrying: the next one starts within a minute and redoes the same work.
      retryAttempts: 0,
    });
    grantTableAccess(this.fn, {
      table: tables.orders,
      actions: ['GetItem', 'Query', 'PutItem', 'UpdateItem'],
      queryIndexes: [INDEX.byDue],
    });

    // SMS goes straight to a phone number: IAM authorizes such a Publish
    // against the number itself ("+4470..."), which is not an ARN and cannot
    // be written in a policy's Resource, and SNS has no condition key for the
    // destination. The tightest expression IAM allows is Publish on "*" minus
    // every SNS ARN (the pattern CDK's own Cognito SMS role uses): this role
    // can text phones but cannot publish to any topic or mobile-push endpoint.
    const smsOnly = [
      new PolicyStatement({ sid: 'PublishSmsToPhoneNumbers', actions: ['sns:Publish'], resources: ['*'] }),
      new PolicyStatement({
        sid: 'NoTopicsOrEndpoints',
        effect: Effect.DENY,
        actions: ['sns:Publish'],
        resources: [`arn:${Stack.of(this).partition}:sns:*:*:*`],
      }),
    ];
    for (const statement of smsOnly) this.fn.addToRolePolicy(statement);
    acknowledge(
      this.fn.executionRole,
      'AwsSolutions-IAM5[Resource::*]',
      'sns:Publish to a phone number (SMS) has no resource ARN to scope to and SNS offers no condition key on the number; every SNS ARN (topics, endpoints) is denied in the same policy, so only SMS remains.',
    );

    this.schedule = new Rule(this, 'Schedule', {
      description: 'Waypost SLA sweep',
      schedule: Schedule.rate(Duration.minutes(1)),
      targets: [new LambdaFunction(this.fn)],
    });

    // An SMS SNS refused (sandbox, spend limit, opted out, bad number) is retried next minute; the sweep
    // counts each refusal as an EMF metric in its own log stream (shared/runtime/metrics.ts).
    const smsFailures = new Metric({
      namespace: SMS_FAILED_METRIC.namespace,
      metricName: SMS_FAILED_METRIC.name,
      dimensionsMap: smsFailedDimensions(config.stage),
      period: Duration.minutes(5),
      statistic: 'Sum',
    });
    this.alarms.push(
      new Alarm(this, 'SmsFailuresAlarm', {
        alarmDescription:
          'SNS refused SLA escalation SMS (sandbox, monthly spend limit, opted-out or invalid number): dispatchers are not being texted.',
        metric: smsFailures,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
