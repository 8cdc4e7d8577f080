/**
 * The `orders` stream: each new timeline event is pushed to its rooms. Failed
 * records are reported (`ReportBatchItemFailures`) so only they and what
 * follows them in the same order are retried.
 */
import middy from '@middy/core';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { processStreamBatch } from '../../shared/services/stream-batch';
import { isTimelineInsert, routedEventOf } from '../../shared/store/stream-records';
import { fanoutService, logger, type App } from '../common/wiring';

/** The stream's handler over an app's parts (the module's `handler`: the default app's). */
export function fanoutHandler({ fanoutService, logger }: Pick<App, 'fanoutService' | 'logger'>) {
  async function fanOut(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
    const fanout = fanoutService();
    const log = logger();
    return processStreamBatch(event.Records, (record) => fanout.deliver(routedEventOf(record)), {
      // The mapping's filter already passes only timeline inserts; checked again here.
      filter: isTimelineInsert,
      onError: (record, err) => log.warn('fan-out record failed', { sequenceNumber: record.dynamodb?.SequenceNumber, error: err }),
    });
  }

  return middy(fanOut);
}

export const handler = fanoutHandler({ fanoutService, logger });
