/**
 * WebSocket connections and their room memberships. Membership items are
 * keyed by room, so fan-out queries one room's members and never scans.
 */
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { Principal } from '../domain/model';
import type { TransactItem } from './group-commit';
import { keys } from './tables';

/** API Gateway closes every WebSocket after two hours. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;

export interface ConnectionRecord {
  readonly connectionId: string;
  readonly principal: Principal;
  readonly connectedAt: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  readonly rooms: readonly string[];
}

export interface Membership {
  readonly connectionId: string;
  readonly expiresAt: number;
}

export interface ConnectionStore {
  put(connectionId: string, principal: Principal, connectedAt: Date): Promise<void>;
  get(connectionId: string): Promise<ConnectionRecord | null>;
  /** Join a room; false if the connection no longer exists. */
  join(connectionId: string, tenant: string, room: string): Promise<boolean>;
  /** Leave a room; false when the connection was not in it (nothing changed). */
  leave(connectionId: string, tenant: string, room: string): Promise<boolean>;
  /** Connection ids currently in a room. */
  members(tenant: string, room: string): Promise<string[]>;
  /**
   * A room's members with the time each membership expires (epoch seconds),
   * expired ones left out; `consistent` reads every join that completed.
   */
  memberships(tenant: string, room: string, options?: { consistent?: boolean }): Promise<Membership[]>;
  /** Drop a connection and all its memberships. */
  remove(connectionId: string): Promise<void>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(connectionId: string, principal: Principal, connectedAt: Date): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: keys.connection(connectionId),
          sk: keys.connectionMeta,
          connectionId,
          principal: { ...principal },
          connectedAt: connectedAt.toISOString(),
          expiresAt: Math.floor(connectedAt.getTime() / 1000) + CONNECTION_TTL_SECONDS,
        },
      }),
    );
  }

  async get(connectionId: string): Promise<ConnectionRecord | null> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: keys.connection(connectionId), sk: keys.connectionMeta },
        ConsistentRead: true,
      }),
    );
    const item = res.Item;
    // TTL deletion is lazy in AWS and absent in DynamoDB Local: expiry is checked on read.
    if (!item || (item.expiresAt as number) <= nowSeconds()) return null;
    return {
      connectionId,
      principal: item.principal as Principal,
      connectedAt: item.connectedAt as string,
      expiresAt: item.expiresAt as number,
      rooms: item.rooms instanceof Set ? [...(item.rooms as Set<string>)] : [],
    };
  }

  async join(connectionId: string, tenant: string, room: string): Promise<boolean> {
    // Only a connection that still exists may join.
    return this.changeRooms(connectionId, 'ADD', room, 'attribute_exists(pk)', {
      Put: {
        TableName: this.tableName,
        Item: { pk: keys.room(tenant, room), sk: keys.connection(connectionId), connectionId, expiresAt: nowSeconds() + CONNECTION_TTL_SECONDS },
      },
    });
  }

  async leave(connectionId: string, tenant: string, room: string): Promise<boolean> {
    // Only a member may leave: otherwise nothing changes.
    return this.changeRooms(connectionId, 'DELETE', room, undefined, {
      Delete: {
        TableName: this.tableName,
        Key: { pk: keys.room(tenant, room), sk: keys.connection(connectionId) },
        ConditionExpression: 'attribute_exists(pk)',
      },
    });
  }

  /** The connection's room set and the membership item change in one transaction; false when a condition failed. */
  private async changeRooms(
    connectionId: string,
    op: 'ADD' | 'DELETE',
    room: string,
    metaCondition: string | undefined,
    membership: TransactItem,
  ): Promise<boolean> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: keys.connection(connectionId), sk: keys.connectionMeta },
                UpdateExpression: `${op} rooms :room`,
                ...(metaCondition !== undefined && { ConditionExpression: metaCondition }),
                ExpressionAttributeValues: { ':room': new Set([room]) },
              },
            },
            membership,
          ],
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof Error && err.name === 'TransactionCanceledException') return false;
      throw err;
    }
  }

  async members(tenant: string, room: string): Promise<string[]> {
    return (await this.memberships(tenant, room)).map((m) => m.connectionId);
  }

  async memberships(tenant: string, room: string, options: { consistent?: boolean } = {}): Promise<Membership[]> {
    const found: Membership[] = [];
    let start: Record<string, unknown> | undefined;
    const now = nowSeconds();
    do {
      const res: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.room(tenant, room) },
          ProjectionExpression: 'connectionId, expiresAt',
          ConsistentRead: options.consistent === true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        const expiresAt = item.expiresAt as number;
        if (expiresAt > now) found.push({ connectionId: item.connectionId as string, expiresAt });
      }
      start = res.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  async remove(connectionId: string): Promise<void> {
    const res = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keys.connection(connectionId), sk: keys.connectionMeta } }),
    );
    const item = res.Item;
    const tenant = (item?.principal as Principal | undefined)?.tenant;
    const rooms = item?.rooms instanceof Set ? [...(item.rooms as Set<string>)] : [];
    const deletes = [
      { pk: keys.connection(connectionId), sk: keys.connectionMeta },
      ...(tenant === undefined ? [] : rooms.map((room) => ({ pk: keys.room(tenant, room), sk: keys.connection(connectionId) }))),
    ];
    for (let i = 0; i < deletes.length; i += 25) {
      let requests: NonNullable<BatchWriteCommandOutput['UnprocessedItems']>[string] | undefined = deletes
        .slice(i, i + 25)
        .map((Key) => ({ DeleteRequest: { Key } }));
      for (let attempt = 0; requests !== undefined && requests.length > 0; attempt++) {
        const out: BatchWriteCommandOutput = await this.doc.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = out.UnprocessedItems?.[this.tableName];
        if (requests !== undefined && requests.length > 0) {
          await new Promise((r) => setTimeout(r, Math.min(200, 10 * 2 ** attempt)));
        }
      }
    }
  }
}
