/**
 * SLA alerts beyond what an append writes: finding them, the due index the
 * sweep reads, and the SMS outbox (claim, send, mark sent).
 */
import {
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { Alert, AlertState } from '../domain/sla';
import { DUE_SHARDS } from '../domain/sla';
import { alertFromItem, type OutboxItem } from './orders-items';
import { INDEX, keys } from './tables';
import { buildUpdate } from './update-expression';

export interface DueOrder {
  readonly tenant: string;
  readonly orderId: string;
}

export type DueGuard = { readonly alertId: string } | { readonly statusSince: string };

export type { OutboxItem } from './orders-items';

export interface AlertStore {
  get(tenant: string, alertId: string): Promise<Alert | null>;
  list(tenant: string, state: AlertState, limit: number): Promise<Alert[]>;
  /** Orders whose SLA clock ran out by `now`, from one shard of the due index. */
  due(shard: number, now: Date, limit: number): Promise<DueOrder[]>;
  /** SMS of this alert not yet sent. */
  unsent(tenant: string, alertId: string): Promise<OutboxItem[]>;
  /** Take the right to send one SMS until `until`; false if someone else holds it or it is sent. */
  claim(tenant: string, item: OutboxItem, now: Date, until: Date): Promise<boolean>;
  markSent(tenant: string, item: OutboxItem, messageId: string, at: Date): Promise<void>;
  /** Give a claim back after a failed send. */
  release(tenant: string, item: OutboxItem): Promise<void>;
  /**
   * Move the order's SLA clock (no timeline event), only while the order is
   * where the caller saw it: the same alert, or the same stay with no alert.
   */
  setDue(tenant: string, orderId: string, dueAt: string | null, shard: string, when: DueGuard): Promise<void>;
}

/** `T#<tenant>#O#<orderId>` back to its parts. */
function parseOrderKey(pk: string): DueOrder | null {
  const m = /^T#([^#]+)#O#(.*)$/s.exec(pk);
  return m ? { tenant: m[1]!, orderId: m[2]! } : null;
}

export class DynamoAlertStore implements AlertStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenant: string, alertId: string): Promise<Alert | null> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.alert(tenant, alertId), sk: keys.alertItem }, ConsistentRead: true }),
    );
    return res.Item ? alertFromItem(res.Item) : null;
  }

  async list(tenant: string, state: AlertState, limit: number): Promise<Alert[]> {
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: INDEX.byAlertState,
        KeyConditionExpression: 'gsiAlertState = :s',
        ExpressionAttributeValues: { ':s': keys.alertState(tenant, state) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    // The index is eventually consistent: trust the item's own state.
    return (res.Items ?? []).map(alertFromItem).filter((a) => a.state === state);
  }

  async due(shard: number, now: Date, limit: number): Promise<DueOrder[]> {
    if (shard < 0 || shard >= DUE_SHARDS) throw new RangeError(`shard ${shard} is outside 0..${DUE_SHARDS - 1}`);
    const found: DueOrder[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX.byDue,
          KeyConditionExpression: 'dueShard = :shard AND dueAt <= :now',
          ExpressionAttributeValues: { ':shard': String(shard), ':now': now.toISOString() },
          Limit: Math.min(100, limit - found.length),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        const key = parseOrderKey(item.pk as string);
        if (key) found.push(key);
      }
      start = res.LastEvaluatedKey;
    } while (start !== undefined && found.length < limit);
    return found;
  }

  async unsent(tenant: string, alertId: string): Promise<OutboxItem[]> {
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: '#state <> :sent',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: { ':pk': keys.alert(tenant, alertId), ':prefix': keys.smsOutboxPrefix, ':sent': 'sent' },
        ConsistentRead: true,
      }),
    );
    return (res.Items ?? []) as OutboxItem[];
  }

  async claim(tenant: string, item: OutboxItem, now: Date, until: Date): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.alert(tenant, item.alertId), sk: keys.smsOutbox(item.level, item.index) },
          ...buildUpdate({
            set: { claimUntil: until.toISOString() },
            condition: (p) =>
              `${p.name('state')} = ${p.value('pending')} AND (attribute_not_exists(${p.name('claimUntil')}) OR ${p.name('claimUntil')} < ${p.value(now.toISOString())})`,
          }),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async markSent(tenant: string, item: OutboxItem, messageId: string, at: Date): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.alert(tenant, item.alertId), sk: keys.smsOutbox(item.level, item.index) },
        ...buildUpdate({ set: { state: 'sent', messageId, sentAt: at.toISOString() }, remove: ['claimUntil'] }),
      }),
    );
  }

  async release(tenant: string, item: OutboxItem): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: keys.alert(tenant, item.alertId), sk: keys.smsOutbox(item.level, item.index) },
        ...buildUpdate({ remove: ['claimUntil'], condition: (p) => `${p.name('state')} = ${p.value('pending')}` }),
      }),
    ).catch((err: unknown) => {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    });
  }

  async setDue(tenant: string, orderId: string, dueAt: string | null, shard: string, when: DueGuard): Promise<void> {
    const update = buildUpdate({
      ...(dueAt === null ? { remove: ['dueAt', 'dueShard'] } : { set: { dueAt, dueShard: shard } }),
      condition: (p) =>
        'alertId' in when
          ? `${p.name('openAlertId')} = ${p.value(when.alertId)}`
          : `${p.name('statusSince')} = ${p.value(when.statusSince)} AND attribute_not_exists(${p.name('openAlertId')})`,
    });
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.tableName, Key: { pk: keys.order(tenant, orderId), sk: keys.head }, ...update }));
    } catch (err) {
      // The order moved on (its alert resolved) meanwhile: its clock is already right.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}
