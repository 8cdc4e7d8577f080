/**
 * The durability fence: nothing the local runtime acks or pushes is lost when
 * the whole process group (Node and DynamoDB Local's Java) dies at once.
 *
 * What it rests on (read from DynamoDB Local 3.3.0's jar, `DynamoDBLocal.jar`,
 * class `software.amazon.dynamodb.services.local.shared.access.sqlite.SQLiteDBAccess`):
 *
 * - Every SQLite statement runs as a job on one `com.almworks.sqlite4java.SQLiteQueue`:
 *   one thread, one connection, jobs in the order they were queued.
 * - `TransactWriteItems` (and PartiQL `ExecuteTransaction`) take the queue's
 *   write lock, run `BEGIN` and the writes as jobs they wait for, then
 *   `commitTransaction` queues the `COMMIT` job and releases the lock
 *   *without waiting for the job* (`queue.execute(job)` with no `.get()`).
 *   The HTTP answer can therefore leave before `COMMIT` has run: a SIGKILL of
 *   Java in that window loses an acked transaction (seen here in 4 of 9 runs).
 *   `PutItem`, `UpdateItem` and the rest wait for their own job, so they are
 *   not affected.
 * - Every other request (a `GetItem` too) takes the queue's read lock, which
 *   waits for the write lock, and then queues its job behind the `COMMIT` and
 *   waits for it. So **once any request sent after a transaction's answer has
 *   been answered, that transaction's `COMMIT` has run.** SQLite's default
 *   rollback journal (DynamoDB Local sets no `PRAGMA journal_mode` or
 *   `synchronous`) has then written the pages to the database file: they
 *   survive the death of the process (and, with `synchronous=FULL`, of the
 *   machine).
 *
 * The fence is that request: after a transaction is answered, and before the
 * answer is handed back to the caller, one `GetItem` of an item that never
 * exists. Concurrent transactions share fences: at most one fence is in
 * flight, and every transaction answered meanwhile waits for the next one,
 * which is sent as soon as the one in flight is answered.
 *
 * The stream pump needs no fence of its own: `GetRecords` takes the same read
 * lock (`SQLiteDBAccess.getStreamRecords`), so its job runs after the `COMMIT`
 * of every transaction whose records it can return; a record is read, and so
 * pushed, only once it is in the database file. (A fence there was measured
 * and dropped: it added about 80 ms to the p99 of every push, at 25 and 50
 * posts/s, and no safety; `test/e2e/crash-group.test.ts` checks after every
 * kill that what subscribers were pushed is what the restarted timeline holds.)
 *
 * Only the local runtime on a file database needs this. DynamoDB in AWS acks
 * a write once it is durable in several Availability Zones.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** The key the fence reads: no item is ever written there. */
export const FENCE_KEY = { pk: { S: '_fence' }, sk: { S: '_fence' } } as const;

/** The commands whose answer may come before their commit (see the module's TSDoc). */
const UNFENCED_COMMIT = /^(TransactWriteItems|ExecuteTransaction)Command$/;

export interface DurabilityFenceStats {
  /** Fence requests sent. */
  readonly fences: number;
  /** Callers that waited on a fence (transactions answered, stream batches read). */
  readonly waits: number;
}

export class DurabilityFence {
  private inFlight: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private fences = 0;
  private waits = 0;

  /**
   * @param client a client for DynamoDB Local with no fence installed on it
   *   (the fence's own `GetItem` must not wait for a fence).
   * @param tableName any existing table of that DynamoDB Local (the fence
   *   reads a key that is never written).
   */
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  /**
   * Resolves once a request sent after this call has been answered, so every
   * transaction answered before this call is committed to the database file.
   * Rejects with the fence request's error (DynamoDB Local gone): then
   * nothing may be taken as durable.
   */
  after(): Promise<void> {
    this.waits++;
    if (this.inFlight === undefined) return this.send();
    // The one in flight may have been sent before the caller's transaction was
    // answered: wait for the next, sent as soon as this one is answered.
    this.next ??= this.inFlight.then(
      () => this.sendNext(),
      () => this.sendNext(),
    );
    return this.next;
  }

  stats(): DurabilityFenceStats {
    return { fences: this.fences, waits: this.waits };
  }

  private sendNext(): Promise<void> {
    this.next = undefined;
    return this.send();
  }

  private send(): Promise<void> {
    this.fences++;
    const sent = this.client
      .send(new GetItemCommand({ TableName: this.tableName, Key: FENCE_KEY, ProjectionExpression: 'pk' }))
      .then(() => undefined);
    this.inFlight = sent;
    const clear = () => {
      if (this.inFlight === sent) this.inFlight = undefined;
    };
    sent.then(clear, clear);
    return sent;
  }
}

/**
 * Install `fence` on `client`: a `TransactWriteItems` or `ExecuteTransaction`
 * sent through it (or through a `DynamoDBDocumentClient` built on it, which
 * shares its middleware stack) is answered only after the fence, so the
 * caller never sees a success that a crash could still take back. Errors are
 * passed on unchanged: a cancelled transaction stored nothing to protect.
 */
export function installDurabilityFence(client: DynamoDBClient, fence: DurabilityFence): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      if (UNFENCED_COMMIT.test(context.commandName ?? '')) await fence.after();
      return out;
    },
    { step: 'initialize', name: 'waypostLocalDurabilityFence', priority: 'high' },
  );
}
