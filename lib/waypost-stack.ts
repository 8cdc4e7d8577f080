/**
 * The Waypost stack. Today: the data tables. The WebSocket and HTTP APIs,
 * fan-out, SLA sweep and console constructs join it as they are built.
 */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { DataTables } from './data-tables';

export interface WaypostStackProps extends StackProps {
  readonly deletionProtection?: boolean;
}

export class WaypostStack extends Stack {
  readonly tables: DataTables;

  constructor(scope: Construct, id: string, props: WaypostStackProps = {}) {
    super(scope, id, props);
    this.tables = new DataTables(this, 'Data', { deletionProtection: props.deletionProtection ?? true });
    new CfnOutput(this, 'OrdersTableName', { value: this.tables.orders.tableName });
    new CfnOutput(this, 'ConnectionsTableName', { value: this.tables.connections.tableName });
  }
}
