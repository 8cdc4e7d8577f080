/**
 * A partial-batch processor for DynamoDB stream records that keeps each item
 * collection's records in order: the FIFO idea of Powertools'
 * `SqsFifoPartialProcessor` (`packages/batch`, with `skipGroupOnError`)
 * applied to a table's partition key instead of an SQS message group. The
 * record handler is the caller's; this module knows nothing of what a record
 * means.
 */
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';

/** Handles one record; a throw (or rejection) marks it failed. */
export type StreamRecordHandler = (record: DynamoDBRecord) => Promise<unknown>;

export interface StreamBatchOptions {
  /**
   * Which records to handle (default: all). A record that does not pass is
   * skipped, and not reported as a failure: the defensive twin of the event
   * source mapping's filter.
   */
  readonly filter?: (record: DynamoDBRecord) => boolean;
  /** Called once for each record whose handler failed, before the rest of its group is given up. */
  readonly onError?: (record: DynamoDBRecord, err: unknown) => void;
  /** How many groups are handled at a time (default 16). */
  readonly concurrency?: number;
  /**
   * The key attribute that names a record's group, read from `dynamodb.Keys`
   * as a string (`S`); default `pk`, the partition key of both Waypost tables
   * (shared/store/tables.ts).
   */
  readonly groupKey?: string;
}

/** Groups handled at a time unless told otherwise: bounds the fan-out's parallel pushes per batch. */
export const DEFAULT_STREAM_BATCH_CONCURRENCY = 16;

/**
 * Handle a batch of stream records, keeping each group's records in order:
 * groups (records with the same partition key) proceed side by side, up to
 * `concurrency` at a time, and each group's records one after another. When a
 * record fails, it and every later record of its group are reported as
 * failures and not handled (never out of order); other groups go on.
 *
 * @returns Lambda's partial batch response (`ReportBatchItemFailures`): the
 *   failed records' `SequenceNumber`s in stream order, as Lambda resumes a
 *   shard from the lowest reported one. Never throws for a failing record.
 */
export async function processStreamBatch(
  records: readonly DynamoDBRecord[],
  handler: StreamRecordHandler,
  options: StreamBatchOptions = {},
): Promise<DynamoDBBatchResponse> {
  const { filter, onError, concurrency = DEFAULT_STREAM_BATCH_CONCURRENCY, groupKey = 'pk' } = options;
  const groups = new Map<string, DynamoDBRecord[]>();
  for (const record of records) {
    if (filter !== undefined && !filter(record)) continue;
    const key = record.dynamodb?.Keys?.[groupKey]?.S ?? '';
    const group = groups.get(key);
    if (group) group.push(record);
    else groups.set(key, [record]);
  }
  const failed = new Set<DynamoDBRecord>();
  const queue = [...groups.values()];
  const worker = async () => {
    for (let group = queue.shift(); group !== undefined; group = queue.shift()) {
      for (const [i, record] of group.entries()) {
        try {
          await handler(record);
        } catch (err) {
          onError?.(record, err);
          for (const rest of group.slice(i)) failed.add(rest);
          break;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
  // Reported in stream order: Lambda resumes from the lowest.
  const batchItemFailures = records
    .filter((r) => failed.has(r))
    .map((r) => ({ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' }));
  return { batchItemFailures };
}
