/**
 * A function on a table's stream: one event source mapping with the settings
 * every Waypost stream consumer needs (partial batch responses, bisect on
 * error, bounded retries, an on-failure queue) and its own filter. The local
 * runtime mirrors it with one `StreamPump` consumer per function
 * (local/stream-pump.ts).
 */
import type { Duration } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { FilterCriteria, StartingPosition, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface StreamConsumerProps {
  /** The function the mapping invokes (an `AppFunction`). */
  readonly fn: IFunction;
  /** The table whose stream it reads (the stream must be enabled). */
  readonly table: ITable;
  /**
   * Lambda filter patterns (`FilterCriteria`): a record reaches the function
   * when it matches any one. Empty: every record.
   */
  readonly filters: readonly { readonly [field: string]: unknown }[];
  /** Most records in one invocation. */
  readonly batchSize: number;
  /** How long records gather before an invocation (CloudFormation's default, 0 s, when absent). */
  readonly maxBatchingWindow?: Duration;
  /** Retries of a failing batch before its position goes to `onFailure`. */
  readonly retryAttempts: number;
  /** Oldest record still handed over (absent: until the stream trims it). */
  readonly maxRecordAge?: Duration;
  /** Split a failing batch in two and retry each half. @default true */
  readonly bisectBatchOnError?: boolean;
  /** Where batches that ran out of retries are described (the records stay in the stream, then the table). */
  readonly onFailure: IQueue;
  /** The function reports failed items (`batchItemFailures`) instead of failing the batch. @default true */
  readonly reportBatchItemFailures?: boolean;
  /** @default StartingPosition.LATEST */
  readonly startingPosition?: StartingPosition;
}

/**
 * One function on a table's stream. The mapping is added to the function
 * (so its logical id and grants live there, as `fn.addEventSource` makes
 * them); this construct adds no resource of its own.
 */
export class StreamConsumer extends Construct {
  /** The mapping's event source (its id and ARN once bound). */
  readonly eventSource: DynamoEventSource;

  constructor(scope: Construct, id: string, props: StreamConsumerProps) {
    super(scope, id);
    this.eventSource = new DynamoEventSource(props.table, {
      startingPosition: props.startingPosition ?? StartingPosition.LATEST,
      // No filter criteria at all (not an empty list) when every record is wanted.
      ...(props.filters.length > 0 && { filters: props.filters.map((pattern) => FilterCriteria.filter({ ...pattern })) }),
      batchSize: props.batchSize,
      ...(props.maxBatchingWindow !== undefined && { maxBatchingWindow: props.maxBatchingWindow }),
      retryAttempts: props.retryAttempts,
      ...(props.maxRecordAge !== undefined && { maxRecordAge: props.maxRecordAge }),
      bisectBatchOnError: props.bisectBatchOnError ?? true,
      reportBatchItemFailures: props.reportBatchItemFailures ?? true,
      onFailure: new SqsDlq(props.onFailure),
    });
    props.fn.addEventSource(this.eventSource);
  }
}
