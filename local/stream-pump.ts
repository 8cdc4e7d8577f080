/**
 * The local stand-in for Lambda's DynamoDB event source mappings: it polls the
 * `orders` table's stream on DynamoDB Local and invokes each consumer's
 * handler with real `DynamoDBStreamEvent` batches of the records its filter
 * lets through. Failed items reported by a handler are retried, in order,
 * before that consumer's shard moves on; after `maxRetries` they go to the
 * consumer's dead-letter list, as AWS sends them to the on-failure
 * destination.
 *
 * Each consumer reads the stream on its own (its own shard iterators and
 * positions, its own poll loop, retries and dead letters), as AWS runs one
 * event source mapping per function: a slow or failing consumer never holds
 * back another.
 */
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  TrimmedDataAccessException,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { Logger } from '../shared/runtime/log';
import { assertSupportedPattern, passesFilters, type FilterPattern } from './event-filter';

export type StreamHandler = (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | void>;

/** One function on the stream: what an event source mapping configures. */
export interface StreamConsumer {
  /** Names the consumer in logs, stats and dead letters; unique within a pump. */
  readonly name: string;
  /**
   * The mapping's filter criteria: Lambda filter patterns (`FilterCriteria`),
   * any one of which lets a record through; records that match none are
   * skipped for this consumer (never delivered, never retried). An empty list
   * lets every record through, as a mapping without filters does.
   */
  readonly filter: readonly FilterPattern[];
  readonly handler: StreamHandler;
  /** Most records read from a shard per batch (GetRecords `Limit`; default 100). */
  readonly batchSize?: number;
  /** Retries of a batch's failed records before they are dead-lettered (default 8). */
  readonly maxRetries?: number;
}

export interface StreamPumpOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  /** Each reads the stream independently. */
  readonly consumers: readonly StreamConsumer[];
  readonly log: Logger;
  /** How long to sleep when no shard had records and nothing nudged. */
  readonly idleMs?: number;
}

interface Shard {
  iterator?: string;
  lastSequenceNumber?: string;
  /** A child shard is read only once its parent is read to the end, as Lambda does. */
  parentShardId?: string;
}

export interface DeadLetter {
  /** The consumer that gave up on the records. */
  readonly consumer: string;
  readonly at: string;
  readonly records: DynamoDBRecord[];
}

/** What one consumer has done so far. */
export interface ConsumerStats {
  readonly name: string;
  /** Shards it is reading now. */
  readonly shards: number;
  /** Records its handler took without reporting them failed. */
  readonly delivered: number;
  /** Dead-lettered batches. */
  readonly deadLetters: number;
}

/** Lambda's stream record shape from the Streams API's. */
export function toLambdaRecord(r: StreamRecord, streamArn: string): DynamoDBRecord {
  const d = r.dynamodb ?? {};
  return {
    eventID: r.eventID,
    eventName: r.eventName,
    eventVersion: r.eventVersion ?? '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: r.awsRegion ?? 'us-east-1',
    eventSourceARN: streamArn,
    dynamodb: {
      ...(d.ApproximateCreationDateTime !== undefined && {
        ApproximateCreationDateTime: Math.floor(new Date(d.ApproximateCreationDateTime).getTime() / 1000),
      }),
      Keys: d.Keys as NonNullable<DynamoDBRecord['dynamodb']>['Keys'],
      NewImage: d.NewImage as NonNullable<DynamoDBRecord['dynamodb']>['NewImage'],
      OldImage: d.OldImage as NonNullable<DynamoDBRecord['dynamodb']>['OldImage'],
      SequenceNumber: d.SequenceNumber,
      SizeBytes: d.SizeBytes,
      StreamViewType: d.StreamViewType,
    },
  };
}

/**
 * Several consumers on one stream, each read by its own `ConsumerReader`.
 *
 * @throws Error from the constructor when two consumers share a name, or
 *   UnsupportedFilterError when a filter uses a rule the local matcher lacks.
 */
export class StreamPump {
  private readonly readers: readonly ConsumerReader[];

  constructor(options: StreamPumpOptions) {
    const names = new Set<string>();
    for (const consumer of options.consumers) {
      if (names.has(consumer.name)) throw new Error(`stream consumer "${consumer.name}" is registered twice`);
      names.add(consumer.name);
      for (const pattern of consumer.filter) assertSupportedPattern(pattern);
    }
    this.readers = options.consumers.map(
      (consumer) =>
        new ConsumerReader(consumer, {
          client: options.client,
          streamArn: options.streamArn,
          log: options.log.child({ consumer: consumer.name }),
          ...(options.idleMs !== undefined && { idleMs: options.idleMs }),
        }),
    );
  }

  /** Start every consumer from the stream's current end: what was written before is not replayed. */
  async start(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.stop()));
  }

  /** A write just happened: every consumer polls now rather than after its idle sleep. */
  nudge(): void {
    for (const r of this.readers) r.nudge();
  }

  /**
   * Totals over the consumers (`shards`: the most any consumer reads;
   * `delivered` and `deadLetters`: sums) and each consumer's own figures.
   */
  stats(): { shards: number; delivered: number; deadLetters: number; consumers: ConsumerStats[] } {
    const consumers = this.readers.map((r) => r.stats());
    return {
      shards: Math.max(0, ...consumers.map((c) => c.shards)),
      delivered: consumers.reduce((n, c) => n + c.delivered, 0),
      deadLetters: consumers.reduce((n, c) => n + c.deadLetters, 0),
      consumers,
    };
  }

  /** Dead letters of one consumer, or of all of them (by consumer, each in the order given up). */
  deadLettered(consumer?: string): readonly DeadLetter[] {
    return this.readers.filter((r) => consumer === undefined || r.name === consumer).flatMap((r) => r.deadLettered());
  }
}

interface ReaderOptions {
  readonly client: DynamoDBStreamsClient;
  readonly streamArn: string;
  readonly log: Logger;
  readonly idleMs?: number;
}

/** One consumer's reading of the stream: one event source mapping. */
class ConsumerReader {
  readonly name: string;
  private readonly shards = new Map<string, Shard>();
  private readonly deadLetters: DeadLetter[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private nudged = false;
  private lastShardRefresh = 0;
  private delivered = 0;

  constructor(
    private readonly consumer: StreamConsumer,
    private readonly options: ReaderOptions,
  ) {
    this.name = consumer.name;
  }

  async start(): Promise<void> {
    await this.refreshShards('LATEST');
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  nudge(): void {
    this.nudged = true;
    this.wake?.();
  }

  stats(): ConsumerStats {
    return { name: this.name, shards: this.shards.size, delivered: this.delivered, deadLetters: this.deadLetters.length };
  }

  deadLettered(): readonly DeadLetter[] {
    return this.deadLetters;
  }

  private async refreshShards(type: 'LATEST' | 'TRIM_HORIZON'): Promise<void> {
    this.lastShardRefresh = Date.now();
    let start: string | undefined;
    do {
      const res = await this.options.client.send(
        new DescribeStreamCommand({ StreamArn: this.options.streamArn, ExclusiveStartShardId: start }),
      );
      for (const shard of res.StreamDescription?.Shards ?? []) {
        const id = shard.ShardId;
        if (id === undefined || this.shards.has(id)) continue;
        // A closed shard seen at start has nothing new for us.
        if (type === 'LATEST' && shard.SequenceNumberRange?.EndingSequenceNumber !== undefined) continue;
        const it = await this.options.client.send(
          new GetShardIteratorCommand({ StreamArn: this.options.streamArn, ShardId: id, ShardIteratorType: type }),
        );
        this.shards.set(id, {
          ...(it.ShardIterator !== undefined && { iterator: it.ShardIterator }),
          ...(shard.ParentShardId !== undefined && { parentShardId: shard.ParentShardId }),
        });
      }
      start = res.StreamDescription?.LastEvaluatedShardId;
    } while (start !== undefined);
  }

  private async run(): Promise<void> {
    let quietPolls = 0;
    while (this.running) {
      let got = 0;
      try {
        if (Date.now() - this.lastShardRefresh > 2000) await this.refreshShards('TRIM_HORIZON');
        for (const [id, shard] of this.shards) {
          // Records of one key move to the child shard when its parent closes: finish the parent first.
          if (shard.parentShardId !== undefined && this.shards.has(shard.parentShardId)) continue;
          got += await this.pollShard(id, shard);
        }
      } catch (err) {
        this.options.log.warn('stream pump poll failed; retrying', { error: err });
        await this.sleep(500);
        continue;
      }
      if (got > 0) {
        quietPolls = 0;
        continue;
      }
      if (this.nudged) {
        // A write is a few ms from being readable on the stream: look again shortly.
        this.nudged = false;
        quietPolls = 1;
        await this.sleep(3);
        continue;
      }
      if (quietPolls > 0 && quietPolls < 6) {
        quietPolls++;
        await this.sleep(3 * quietPolls);
        continue;
      }
      quietPolls = 0;
      await this.sleep(this.options.idleMs ?? 250);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private async pollShard(id: string, shard: Shard): Promise<number> {
    if (shard.iterator === undefined) {
      this.shards.delete(id);
      return 0;
    }
    let res;
    try {
      res = await this.options.client.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: this.consumer.batchSize ?? 100 }));
    } catch (err) {
      // An expired iterator, or (DynamoDB Local) a LATEST iterator taken on a
      // then-empty shard, which reads as "trimmed" once records arrive: take a
      // new one after the last record seen, or from the start of the shard
      // when none was seen (it was empty when we started: all of it is new).
      if (!(err instanceof ExpiredIteratorException || err instanceof TrimmedDataAccessException)) throw err;
      const it = await this.options.client.send(
        new GetShardIteratorCommand({
          StreamArn: this.options.streamArn,
          ShardId: id,
          ...(shard.lastSequenceNumber !== undefined
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.lastSequenceNumber }
            : { ShardIteratorType: 'TRIM_HORIZON' }),
        }),
      );
      shard.iterator = it.ShardIterator;
      return 0;
    }
    const records = (res.Records ?? []).map((r) => toLambdaRecord(r, this.options.streamArn));
    if (records.length > 0) {
      // As Lambda's event filter does, only matching records reach the handler.
      const matching = records.filter((r) => passesFilters(r, this.consumer.filter));
      if (matching.length > 0) await this.deliver(matching);
      shard.lastSequenceNumber = records[records.length - 1]?.dynamodb?.SequenceNumber;
    }
    shard.iterator = res.NextShardIterator;
    if (shard.iterator === undefined) this.shards.delete(id);
    return records.length;
  }

  /** Invoke the handler; retry exactly the reported failures, in order, with backoff. */
  private async deliver(records: DynamoDBRecord[]): Promise<void> {
    const maxRetries = this.consumer.maxRetries ?? 8;
    let pending = records;
    for (let attempt = 0; pending.length > 0; attempt++) {
      let failedIds: Set<string>;
      try {
        const response = await this.consumer.handler({ Records: pending });
        failedIds = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch (err) {
        // A thrown handler fails the whole batch, as in Lambda.
        this.options.log.warn('stream consumer threw; retrying batch', { error: err });
        failedIds = new Set(pending.map((r) => r.dynamodb?.SequenceNumber ?? ''));
      }
      this.delivered += pending.filter((r) => !failedIds.has(r.dynamodb?.SequenceNumber ?? '')).length;
      pending = pending.filter((r) => failedIds.has(r.dynamodb?.SequenceNumber ?? ''));
      if (pending.length === 0) return;
      if (attempt >= maxRetries) {
        this.deadLetters.push({ consumer: this.name, at: new Date().toISOString(), records: pending });
        this.options.log.error('stream consumer gave up on records; dead-lettered', { count: pending.length });
        return;
      }
      await new Promise((r) => setTimeout(r, Math.min(2000, 25 * 2 ** attempt)));
    }
  }
}
