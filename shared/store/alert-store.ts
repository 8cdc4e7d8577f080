/**
 * SLA alert persistence, all of it: the alert and SMS outbox items an append
 * writes in its transaction (`alertWriteItems`: an alert opens, fires,
 * is acknowledged or resolved in the same write as its timeline event and
 * head change), reading alerts, the due index the sweep reads and moves, and
 * the SMS outbox (claim, mark sent, release).
 */
import {
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { AlertWrite } from '../domain/orders';
import type { Alert, AlertState, DueGuard } from '../domain/sla';
import { DUE_SHARDS } from '../domain/sla';
import type { TransactItem } from './committer';
import { alertFromItem, alertToItem, outboxToItem, type OutboxItem } from './orders-items';
import { INDEX, keys } from './tables';
import { buildUpdate } from './update-expression';

export interface DueOrder {
  readonly tenant: string;
  readonly orderId: string;
}

export type { DueGuard } from '../domain/sla';

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

/**
 * The items an alert write adds to its order's append transaction: a new
 * alert (must not exist) with the SMS its first level owes, or an update of
 * the alert (conditional on the states, and the level, it was decided on;
 * the state index key moves with the state) with the SMS of a fired level.
 * Every outbox item is new (`attribute_not_exists`), so no SMS is written twice.
 */
export function alertWriteItems(tableName: string, tenant: string, orderId: string, write: AlertWrite): TransactItem[] {
  const putNew = (Item: Record<string, unknown>): TransactItem => ({ Put: { TableName: tableName, Item, ConditionExpression: 'attribute_not_exists(pk)' } });
  const alertId = write.op === 'open' ? write.alert.alertId : write.alertId;
  const outbox = write.outbox.map((entry) => putNew(outboxToItem(tenant, alertId, orderId, entry)));
  if (write.op === 'open') return [putNew(alertToItem(write.alert)), ...outbox];
  const set: [string, unknown][] = Object.entries(write.set);
  if (write.set.state !== undefined) set.push(['gsiAlertState', keys.alertState(tenant, write.set.state)]);
  const update = buildUpdate({
    set,
    condition: (p) => {
      const states = write.expectStates.map((st) => `${p.name('state')} = ${p.value(st)}`).join(' OR ');
      const level = write.expectLevel === undefined ? '' : ` AND ${p.name('level')} = ${p.value(write.expectLevel)}`;
      return `attribute_exists(${p.name('pk')}) AND (${states})${level}`;
    },
  });
  return [{ Update: { TableName: tableName, Key: { pk: keys.alert(tenant, alertId), sk: keys.alertItem }, ...update } }, ...outbox];
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
