/**
 * Group commit for `TransactWriteItems`: while one transaction is in flight,
 * the transactions that arrive meanwhile wait and then go together as one
 * (up to 100 items, never two touching the same item). A transaction that
 * arrives when nothing is in flight is sent at once, so this adds no waiting
 * when there is nothing to group; in a Lambda, which handles one request at
 * a time, every transaction is sent alone, exactly as without this.
 *
 * It exists because much of a transaction's cost in DynamoDB Local is per
 * call, not per item (measured by `bench/schema-probe.ts`: ~4.3-5.1 ms of its
 * CPU per post alone, ~2.2 ms in groups of 12), so grouping posts to
 * different orders lets one process store about twice as many.
 *
 * Each caller sees only its own outcome. A grouped transaction is
 * all-or-nothing, so when it is cancelled the members whose items failed are
 * rejected with a `TransactionCanceledException` carrying only their own
 * cancellation reasons (indexed like their own items), and the innocent ones
 * are sent again. Any other failure of a group sends each member alone, so
 * every error reaches the caller that caused it.
 */
import { TransactionCanceledException, type CancellationReason } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommitStats, Committer, TransactItem } from './committer';

export type { TransactItem } from './committer';

/** DynamoDB's limit on items per transaction. */
export const MAX_TRANSACTION_ITEMS = 100;
/**
 * Members per group. A member is at most a 64 KiB post plus a few small
 * items, so 16 stay far below the 4 MB limit on a transaction.
 */
export const MAX_GROUP_MEMBERS = 16;

interface Member {
  readonly items: TransactItem[];
  readonly keys: string[];
  /** Send this member in a group of its own (after a group failed without saying why). */
  alone: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

/** How appends were committed: the same counts as every `Committer`'s. */
export type GroupCommitStats = CommitStats;

function itemKey(item: TransactItem): string {
  const op = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
  if (op === undefined) throw new Error('A transaction item must be a Put, Update, Delete or ConditionCheck.');
  const key = 'Item' in op ? op.Item : op.Key;
  return `${op.TableName}\u0000${String(key?.pk)}\u0000${String(key?.sk)}`;
}

export class GroupCommitter implements Committer {
  private readonly queue: Member[] = [];
  private running = false;
  private transactions = 0;
  private committed = 0;
  private grouped = 0;

  constructor(private readonly doc: DynamoDBDocumentClient) {}

  /** Commit `items` as one transaction, alone or in a group; settles with this caller's own outcome. */
  commit(items: TransactItem[]): Promise<void> {
    if (items.length === 0 || items.length > MAX_TRANSACTION_ITEMS) {
      return Promise.reject(new RangeError(`A transaction holds 1 to ${MAX_TRANSACTION_ITEMS} items, not ${items.length}.`));
    }
    let keys: string[];
    try {
      keys = items.map(itemKey);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ items, keys, alone: false, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  stats(): GroupCommitStats {
    return { transactions: this.transactions, committed: this.committed, grouped: this.grouped };
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) await this.send(this.take());
    } finally {
      this.running = false;
    }
  }

  /** The next group: queue order, skipping (for now) members that would overflow it or touch an item already in it. */
  private take(): Member[] {
    const group: Member[] = [];
    const seen = new Set<string>();
    let items = 0;
    for (let i = 0; i < this.queue.length && group.length < MAX_GROUP_MEMBERS; ) {
      const m = this.queue[i]!;
      const fits =
        group.length === 0 ||
        (!m.alone && !group[0]!.alone && items + m.items.length <= MAX_TRANSACTION_ITEMS && m.keys.every((k) => !seen.has(k)));
      if (!fits) {
        // An item already in the group must not be overtaken by a later write to it.
        for (const k of m.keys) seen.add(k);
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      group.push(m);
      items += m.items.length;
      for (const k of m.keys) seen.add(k);
      if (m.alone) break;
    }
    return group;
  }

  private async send(group: Member[]): Promise<void> {
    this.transactions++;
    if (group.length > 1) this.grouped++;
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: group.flatMap((m) => m.items) }));
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
      this.sortOut(group, err);
      return;
    }
    this.committed += group.length;
    for (const m of group) m.resolve();
  }

  /** A group failed: reject the members to blame with their own reasons; send the others again. */
  private sortOut(group: Member[], err: unknown): void {
    const reasons = err instanceof TransactionCanceledException ? err.CancellationReasons : undefined;
    const total = group.reduce((n, m) => n + m.items.length, 0);
    const retry: Member[] = [];
    if (reasons === undefined || reasons.length !== total) {
      for (const m of group) retry.push(Object.assign(m, { alone: true }));
    } else {
      let at = 0;
      for (const m of group) {
        const own: CancellationReason[] = reasons.slice(at, at + m.items.length);
        at += m.items.length;
        if (own.some((r) => r.Code !== undefined && r.Code !== 'None')) {
          m.reject(
            new TransactionCanceledException({
              message: (err as Error).message,
              $metadata: (err as TransactionCanceledException).$metadata,
              CancellationReasons: own,
            }),
          );
        } else {
          retry.push(m);
        }
      }
      // Cancelled with nobody to blame: let each go alone so the cause surfaces.
      if (retry.length === group.length) for (const m of retry) m.alone = true;
    }
    this.queue.unshift(...retry);
  }
}
