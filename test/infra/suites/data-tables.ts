/**
 * The CDK tables are the ones the local runtime creates: the same keys,
 * indexes, stream and TTL, from one definition.
 */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONNECTIONS_TABLE, ORDERS_TABLE, type TableDef } from '../../../shared/store/tables';
import type { Built } from '../support';

export function dataTablesTests(shared: () => Built): void {
  let template: Template;

  beforeAll(() => {
    template = shared().template;
  });

  function tableLike(def: TableDef) {
    return {
      KeySchema: [
        { AttributeName: def.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: def.sortKey.name, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      Replicas: [
        Match.objectLike({ DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
      ...(def.indexes.length > 0 && {
        GlobalSecondaryIndexes: def.indexes.map((i) => ({
          IndexName: i.indexName,
          KeySchema: [
            { AttributeName: i.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: i.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: i.projection },
        })),
      }),
      ...(def.stream && { StreamSpecification: { StreamViewType: def.stream } }),
      ...(def.ttlAttribute && { TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true } }),
    };
  }

  describe('DataTables', () => {
    it('defines orders from ORDERS_TABLE: keys, listing and due-time indexes, NEW_IMAGE stream, PITR', () => {
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', tableLike(ORDERS_TABLE));
    });

    it('defines connections from CONNECTIONS_TABLE with TTL on expiresAt', () => {
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', tableLike(CONNECTIONS_TABLE));
    });

    it('retains both tables when the stack goes', () => {
      const tables = template.findResources('AWS::DynamoDB::GlobalTable');
      expect(Object.values(tables)).toHaveLength(2);
      for (const t of Object.values(tables)) expect(t.DeletionPolicy).toBe('Retain');
    });
  });
}
