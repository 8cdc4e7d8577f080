/**
 * Least privilege for DynamoDB: actions named one by one on one table, and
 * Query on the named indexes only (never `index/*`).
 */
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';

/**
 * The item-level actions the stores use. A `TransactWriteItems` is authorized
 * per item as `PutItem` / `UpdateItem` / `DeleteItem`; `BatchGetItem` and
 * `BatchWriteItem` are actions of their own.
 */
export type ItemAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem';

export interface TableAccess {
  readonly table: ITableV2;
  readonly actions: readonly ItemAction[];
  /** Indexes the function queries, by name. */
  readonly queryIndexes?: readonly string[];
}

export function grantTableAccess(grantee: IGrantable, access: TableAccess): void {
  const { table, actions, queryIndexes = [] } = access;
  Grant.addToPrincipal({ grantee, actions: actions.map((a) => `dynamodb:${a}`), resourceArns: [table.tableArn] });
  if (queryIndexes.length > 0) {
    Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: queryIndexes.map((name) => `${table.tableArn}/index/${name}`),
    });
  }
}
