/**
 * The `orders` and `connections` tables, built from the definitions in
 * `shared/store/tables.ts`: the same ones the local runtime creates.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, StreamViewType, TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CONNECTIONS_TABLE, ORDERS_TABLE, type KeyDef, type TableDef } from '../shared/store/tables';

export interface DataTablesProps {
  /** Refuse `cdk destroy` on the tables (default true). */
  readonly deletionProtection?: boolean;
  /** Keep the tables when the stack is deleted (default true). */
  readonly retain?: boolean;
}

const attr = (k: KeyDef) => ({ name: k.name, type: k.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER });

function tableFrom(scope: Construct, id: string, def: TableDef, props: DataTablesProps): TableV2 {
  return new TableV2(scope, id, {
    partitionKey: attr(def.partitionKey),
    sortKey: attr(def.sortKey),
    billing: Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: props.deletionProtection ?? true,
    removalPolicy: (props.retain ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    ...(def.stream !== undefined && { dynamoStream: StreamViewType[def.stream] }),
    ...(def.ttlAttribute !== undefined && { timeToLiveAttribute: def.ttlAttribute }),
    globalSecondaryIndexes: def.indexes.map((i) => ({
      indexName: i.indexName,
      partitionKey: attr(i.partitionKey),
      sortKey: attr(i.sortKey),
      projectionType: i.projection === 'KEYS_ONLY' ? ProjectionType.KEYS_ONLY : ProjectionType.ALL,
    })),
  });
}

export class DataTables extends Construct {
  readonly orders: ITableV2;
  readonly connections: ITableV2;

  constructor(scope: Construct, id: string, props: DataTablesProps = {}) {
    super(scope, id);
    this.orders = tableFrom(this, 'Orders', ORDERS_TABLE, props);
    this.connections = tableFrom(this, 'Connections', CONNECTIONS_TABLE, props);
  }
}
