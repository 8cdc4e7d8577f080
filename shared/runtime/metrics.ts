/**
 * Metrics as CloudWatch embedded metric format (EMF) lines, through Powertools
 * for AWS Lambda's Metrics (`@aws-lambda-powertools/metrics`). One metric so
 * far: an SMS that SNS refused, which the SLA escalation alarm
 * (`lib/sla-escalation.ts`) reads by the names below, so the alarm no longer
 * depends on the wording of a log line.
 */
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { SmsSender } from '../store/sms-sender';

/**
 * The SMS-failure metric: namespace, name, and the dimensions it is published
 * with (`service` is the dimension Powertools always adds; `stage` says which
 * deployment). CloudWatch matches a metric on all of these, so the alarm and
 * the publisher both build them here.
 */
export const SMS_FAILED_METRIC = {
  namespace: 'Waypost',
  name: 'SmsFailed',
  service: 'sla-sweep',
} as const;

/** The dimensions `SmsFailed` carries for `stage`: `{service, stage}`. */
export function smsFailedDimensions(stage: string): { service: string; stage: string } {
  return { service: SMS_FAILED_METRIC.service, stage };
}

/** Port: counts what the SLA sweep wants watched. */
export interface SmsMetrics {
  /** One SMS that the provider refused (it is retried by a later sweep). */
  smsFailed(): void;
}

/** Counts nothing: where no stage is configured (the local runtime), failures are only logged. */
export const NO_SMS_METRICS: SmsMetrics = { smsFailed: () => undefined };

/**
 * `SmsMetrics` as EMF: each call writes one line at once (a single-metric
 * flush: `SmsFailed` = 1, unit Count, dimensions `smsFailedDimensions(stage)`)
 * on stdout, where Lambda hands it to CloudWatch Logs, which turns it into
 * the metric. Nothing is buffered, so nothing waits for a flush at the end of
 * the invocation. Powertools' `POWERTOOLS_METRICS_DISABLED=true` still
 * silences it.
 *
 * @param stage the deployment's stage (`WAYPOST_METRICS_STAGE`, set by the CDK stack).
 */
export function emfSmsMetrics(stage: string): SmsMetrics {
  let metrics: Metrics | undefined;
  return {
    smsFailed: () => {
      metrics ??= new Metrics({
        namespace: SMS_FAILED_METRIC.namespace,
        serviceName: SMS_FAILED_METRIC.service,
        defaultDimensions: { stage },
        singleMetric: true,
      });
      metrics.addMetric(SMS_FAILED_METRIC.name, MetricUnit.Count, 1);
    },
  };
}

/**
 * `sender`, counting each refused send in `metrics` before the error goes on
 * to the caller unchanged (the sweep logs it and retries the SMS later).
 */
export function countingSmsFailures(sender: SmsSender, metrics: SmsMetrics): SmsSender {
  return {
    send: async (to, text) => {
      try {
        return await sender.send(to, text);
      } catch (err) {
        metrics.smsFailed();
        throw err;
      }
    },
  };
}
