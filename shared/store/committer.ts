/**
 * How the order store sends the `TransactWriteItems` of an append. By
 * default `DirectCommitter`: one call per transaction, as a Lambda (one
 * request at a time) would send it anyway. A process that serves many
 * writers at once (the local runtime) may ask for `GroupCommitter`
 * (`group-commit.ts`), which lets transactions that meet in time share one
 * call; each caller still sees only its own outcome.
 */
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** One item of a `TransactWriteItems`, as the DocumentClient takes it. */
export type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

export interface CommitStats {
  /** `TransactWriteItems` calls made. */
  readonly transactions: number;
  /** Transactions committed for callers (one per `commit` that succeeded). */
  readonly committed: number;
  /** Calls that carried more than one caller's transaction (always 0 for `DirectCommitter`). */
  readonly grouped: number;
}

export interface Committer {
  /**
   * Commit `items` as one transaction (all or nothing). Rejects with the
   * SDK's error; a `TransactionCanceledException` carries cancellation
   * reasons indexed like `items`.
   */
  commit(items: TransactItem[]): Promise<void>;
  /** How many transactions were made and committed so far. */
  stats(): CommitStats;
}

/** Every transaction in its own `TransactWriteItems` call. */
export class DirectCommitter implements Committer {
  private transactions = 0;
  private committed = 0;

  constructor(private readonly doc: DynamoDBDocumentClient) {}

  async commit(items: TransactItem[]): Promise<void> {
    this.transactions++;
    await this.doc.send(new TransactWriteCommand({ TransactItems: items }));
    this.committed++;
  }

  stats(): CommitStats {
    return { transactions: this.transactions, committed: this.committed, grouped: 0 };
  }
}
