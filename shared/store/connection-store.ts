/**
 * WebSocket connections and their room memberships. Membership items are
 * keyed by room, so fan-out queries one room's members and never scans.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type BatchWriteCommandOutput,
  type DynamoDBDocumentClient,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { LimitExceededError, RateLimitedError } from '../domain/errors';
import type { Principal } from '../domain/model';
import { MAX_ROOMS_PER_CONNECTION, type MemberRights } from '../domain/rooms';
import type { TransactItem } from './committer';
import { keys } from './tables';

/** API Gateway closes every WebSocket after two hours. */
export const CONNECTION_TTL_SECONDS = 2 * 60 * 60;

/**
 * Who holds a connection and until when: the principal its token proved, and
 * that token's `exp` (epoch seconds; moved on by the `auth` action). Stored on
 * the connection item and on each of its membership items, so the fan-out
 * decides per member without another read.
 */
export type ConnectionHolder = MemberRights;

export interface ConnectionRecord extends ConnectionHolder {
  readonly connectionId: string;
  readonly connectedAt: string;
  /** When the item goes (TTL, API Gateway's two-hour limit), epoch seconds. */
  readonly expiresAt: number;
  readonly rooms: readonly string[];
}

export interface Membership {
  readonly connectionId: string;
  /** When the item goes (TTL), epoch seconds. */
  readonly expiresAt: number;
  /**
   * The holder as of joining (its `exp` as renewed since). Absent on items
   * written before memberships carried it: read the connection instead.
   */
  readonly holder?: ConnectionHolder;
}

export interface ConnectionStore {
  /** Record a new connection of `holder`. */
  put(connectionId: string, holder: ConnectionHolder, connectedAt: Date): Promise<void>;
  /** The connection, or null when there is none (or its item's TTL has passed). */
  get(connectionId: string): Promise<ConnectionRecord | null>;
  /**
   * Join a room as `holder`; false if the connection no longer exists. The
   * membership carries the holder, with the connection's current `exp` (a
   * renewal that raced the join is not lost). A connection holds at most
   * `MAX_ROOMS_PER_CONNECTION` (500) rooms: joining a room it already holds
   * is always fine (and counts once); joining another one when it holds 500
   * throws `LimitExceededError` and changes nothing. The count is a
   * condition of the write itself, so concurrent joins never pass it.
   */
  join(connectionId: string, room: string, holder: ConnectionHolder): Promise<boolean>;
  /** Leave a room; false when the connection was not in it (nothing changed). */
  leave(connectionId: string, tenant: string, room: string): Promise<boolean>;
  /** Connection ids currently in a room. */
  members(tenant: string, room: string): Promise<string[]>;
  /**
   * A room's members, each with its holder and the time its item expires
   * (epoch seconds), expired items left out; `consistent` reads every join
   * that completed.
   */
  memberships(tenant: string, room: string, options?: { consistent?: boolean }): Promise<Membership[]>;
  /**
   * Move a connection's token expiry to `exp` (epoch seconds): the connection
   * first, then each of its memberships. False when the connection does not
   * exist (nothing changed).
   */
  renew(connectionId: string, exp: number): Promise<boolean>;
  /** Drop a connection and all its memberships. */
  remove(connectionId: string): Promise<void>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** How often a room change that meets a transaction conflict is tried in all. */
const CONFLICT_ATTEMPTS = 8;

export class DynamoConnectionStore implements ConnectionStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async put(connectionId: string, holder: ConnectionHolder, connectedAt: Date): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: keys.connection(connectionId),
          sk: keys.connectionMeta,
          connectionId,
          principal: { ...holder.principal },
          exp: holder.exp,
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
      // A connection stored before tokens' expiry was kept lives as long as its item.
      exp: typeof item.exp === 'number' ? item.exp : (item.expiresAt as number),
      connectedAt: item.connectedAt as string,
      expiresAt: item.expiresAt as number,
      rooms: item.rooms instanceof Set ? [...(item.rooms as Set<string>)] : [],
    };
  }

  async join(connectionId: string, room: string, holder: ConnectionHolder): Promise<boolean> {
    const tenant = holder.principal.tenant;
    let exp = holder.exp;
    // Only a connection that still exists, and whose expiry is the one written
    // on the membership, may join: a renewal in between makes it join again
    // with the renewed expiry. And only while it holds fewer than the most
    // rooms, or this one already (DynamoDB drops an emptied set).
    for (let attempt = 0; attempt < 3; attempt++) {
      const joined = await this.changeRooms(
        connectionId,
        'ADD',
        room,
        {
          expression:
            'attribute_exists(pk) AND (#exp = :exp OR attribute_not_exists(#exp))' +
            ' AND (attribute_not_exists(#rooms) OR size(#rooms) < :maxRooms OR contains(#rooms, :roomName))',
          names: { '#exp': 'exp', '#rooms': 'rooms' },
          values: { ':exp': exp, ':maxRooms': MAX_ROOMS_PER_CONNECTION, ':roomName': room },
        },
        {
          Put: {
            TableName: this.tableName,
            Item: {
              pk: keys.room(tenant, room),
              sk: keys.connection(connectionId),
              connectionId,
              principal: { ...holder.principal },
              exp,
              expiresAt: nowSeconds() + CONNECTION_TTL_SECONDS,
            },
          },
        },
      );
      if (joined) return true;
      const current = await this.get(connectionId);
      if (current === null) return false;
      if (current.rooms.length >= MAX_ROOMS_PER_CONNECTION && !current.rooms.includes(room)) {
        throw new LimitExceededError(
          `This connection already holds ${MAX_ROOMS_PER_CONNECTION} rooms, the most one connection may hold; unsubscribe from one first.`,
          MAX_ROOMS_PER_CONNECTION,
        );
      }
      exp = current.exp;
    }
    return false;
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

  /**
   * The connection's room set and the membership item change in one
   * transaction; false when a condition failed. A transaction conflict
   * (another change of the same connection at the same moment, as concurrent
   * frames of one connection in the cloud cause) is tried again, with
   * backoff, up to `CONFLICT_ATTEMPTS` times; then `RateLimitedError`.
   */
  private async changeRooms(
    connectionId: string,
    op: 'ADD' | 'DELETE',
    room: string,
    metaCondition: { expression: string; names: Record<string, string>; values: Record<string, unknown> } | undefined,
    membership: TransactItem,
  ): Promise<boolean> {
    for (let attempt = 0; attempt < CONFLICT_ATTEMPTS; attempt++) {
      const outcome = await this.changeRoomsOnce(connectionId, op, room, metaCondition, membership);
      if (outcome !== 'conflict') return outcome === 'done';
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(100, 5 * 2 ** attempt)));
    }
    throw new RateLimitedError('This connection is changing its rooms too fast; retry shortly.');
  }

  private async changeRoomsOnce(
    connectionId: string,
    op: 'ADD' | 'DELETE',
    room: string,
    metaCondition: { expression: string; names: Record<string, string>; values: Record<string, unknown> } | undefined,
    membership: TransactItem,
  ): Promise<'done' | 'refused' | 'conflict'> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk: keys.connection(connectionId), sk: keys.connectionMeta },
                UpdateExpression: `${op} rooms :room`,
                ...(metaCondition !== undefined && {
                  ConditionExpression: metaCondition.expression,
                  ExpressionAttributeNames: metaCondition.names,
                }),
                ExpressionAttributeValues: { ':room': new Set([room]), ...metaCondition?.values },
              },
            },
            membership,
          ],
        }),
      );
      return 'done';
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const codes = (err.CancellationReasons ?? []).map((r) => r.Code);
      return codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed') ? 'conflict' : 'refused';
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
          ProjectionExpression: 'connectionId, expiresAt, principal, #exp',
          ExpressionAttributeNames: { '#exp': 'exp' },
          ConsistentRead: options.consistent === true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of res.Items ?? []) {
        const expiresAt = item.expiresAt as number;
        if (expiresAt <= now) continue;
        const holder =
          item.principal !== undefined && typeof item.exp === 'number' ? { principal: item.principal as Principal, exp: item.exp } : undefined;
        found.push({ connectionId: item.connectionId as string, expiresAt, ...(holder !== undefined && { holder }) });
      }
      start = res.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }

  async renew(connectionId: string, exp: number): Promise<boolean> {
    let rooms: string[];
    let tenant: string;
    try {
      const res = await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: keys.connection(connectionId), sk: keys.connectionMeta },
          UpdateExpression: 'SET #exp = :exp',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#exp': 'exp' },
          ExpressionAttributeValues: { ':exp': exp },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const item = res.Attributes ?? {};
      tenant = (item.principal as Principal).tenant;
      rooms = item.rooms instanceof Set ? [...(item.rooms as Set<string>)] : [];
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
    // Then each membership, a few at a time; one left meanwhile is skipped.
    const queue = [...rooms];
    const worker = async () => {
      for (let room = queue.shift(); room !== undefined; room = queue.shift()) {
        try {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.tableName,
              Key: { pk: keys.room(tenant, room), sk: keys.connection(connectionId) },
              UpdateExpression: 'SET #exp = :exp',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeNames: { '#exp': 'exp' },
              ExpressionAttributeValues: { ':exp': exp },
            }),
          );
        } catch (err) {
          if (!(err instanceof ConditionalCheckFailedException)) throw err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, queue.length) }, worker));
    return true;
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
