/**
 * The cursor of a roles refresh under way, one item beside the snapshot pointer (`SNAPSHOT` /
 * `REFRESH`): which version is being written, the offset of the next page and the counts so far,
 * and the lease of the run paging it (`leaseOwner`, `leaseUntil` epoch ms). Every change is one
 * conditional PutItem: a refresh starts only when none is active, and a page moves the cursor on
 * only from the page it read (`pages` unchanged), so two runs never both advance it — the second
 * sees the condition fail and stops. The lease is taken only while nobody else holds it (absent,
 * run out, or given back: `leaseUntil` at or before now), on the cursor as read, so a run taking
 * it always pages from where the last holder stopped.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RefreshCursor } from '../../domain/role-paging';
import type { LeaseAnswer, RefreshCursors, RefreshLease } from '../../workflow/page-roles-snapshot';
import { conditionalWrite, storeCall } from './errors';
import { SNAPSHOT_REFRESH_KEY } from './keys';

export interface DynamoRefreshCursorsOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

export class DynamoRefreshCursors implements RefreshCursors {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoRefreshCursorsOptions) {
    if (!options.tableName) throw new TypeError('DynamoRefreshCursors needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
  }

  /** The active cursor, or undefined when no refresh is under way. @throws StoreUnavailableError / StoreError. */
  async active(): Promise<RefreshCursor | undefined> {
    return (await this.#read())?.cursor;
  }

  /** Starts `cursor`, leased to its run, unless a refresh is active. @returns false when one is. @throws StoreUnavailableError / StoreError. */
  async start(cursor: RefreshCursor, lease: RefreshLease): Promise<boolean> {
    return conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...SNAPSHOT_REFRESH_KEY, ...cursor, active: true, leaseOwner: lease.owner, leaseUntil: lease.until },
          ConditionExpression: 'attribute_not_exists(pk) OR #active = :false',
          ExpressionAttributeNames: { '#active': 'active' },
          ExpressionAttributeValues: { ':false': false },
        }),
      ),
    );
  }

  /**
   * Moves the cursor from `from` to `to` (`active: false` ends the refresh, published or given up),
   * keeping `lease` on it.
   * @returns false when another run moved it first. @throws StoreUnavailableError / StoreError.
   */
  async advance(from: RefreshCursor, to: RefreshCursor, active = true, lease?: RefreshLease): Promise<boolean> {
    return conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...SNAPSHOT_REFRESH_KEY, ...to, active, ...(lease ? { leaseOwner: lease.owner, leaseUntil: lease.until } : {}) },
          ConditionExpression: '#active = :true AND #version = :version AND #pages = :pages',
          ExpressionAttributeNames: { '#active': 'active', '#version': 'version', '#pages': 'pages' },
          ExpressionAttributeValues: { ':true': true, ':version': from.version, ':pages': from.pages },
        }),
      ),
    );
  }

  /** The active cursor and its lease as stored. */
  async #read(): Promise<{ cursor: RefreshCursor; lease?: RefreshLease } | undefined> {
    const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key: SNAPSHOT_REFRESH_KEY, ConsistentRead: true })));
    const item = out.Item as (RefreshCursor & { active?: boolean; botIds?: string[]; leaseOwner?: unknown; leaseUntil?: unknown }) | undefined;
    if (!item || item.active !== true) return undefined;
    const lease = typeof item.leaseOwner === 'string' ? { owner: item.leaseOwner, until: Number(item.leaseUntil ?? 0) } : undefined;
    return { cursor: cursorOf(item), ...(lease ? { lease } : {}) };
  }

  /**
   * Takes the lease for `lease.owner` unless another run holds it at `nowMs`.
   * @throws StoreUnavailableError / StoreError.
   */
  async lease(lease: RefreshLease, nowMs: number): Promise<LeaseAnswer> {
    for (;;) {
      const found = await this.#read();
      if (!found) return { held: false, ended: true };
      if (found.lease && found.lease.owner !== lease.owner && found.lease.until > nowMs) return { held: false, until: found.lease.until };
      const taken = await conditionalWrite('PutItem', () =>
        this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...SNAPSHOT_REFRESH_KEY, ...found.cursor, active: true, leaseOwner: lease.owner, leaseUntil: lease.until },
            ConditionExpression: '#active = :true AND #version = :version AND #pages = :pages AND (attribute_not_exists(#until) OR #until <= :now OR #owner = :owner)',
            ExpressionAttributeNames: { '#active': 'active', '#version': 'version', '#pages': 'pages', '#until': 'leaseUntil', '#owner': 'leaseOwner' },
            ExpressionAttributeValues: { ':true': true, ':version': found.cursor.version, ':pages': found.cursor.pages, ':now': nowMs, ':owner': lease.owner },
          }),
        ),
      );
      // A lost race: another run took the lease or moved the cursor; read again.
      if (taken) return { held: true, cursor: found.cursor };
    }
  }

  /** Gives the lease back (`leaseUntil` 0) when `owner` holds it. @throws StoreUnavailableError / StoreError. */
  async release(owner: string): Promise<void> {
    const found = await this.#read();
    if (!found || found.lease?.owner !== owner) return;
    await conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...SNAPSHOT_REFRESH_KEY, ...found.cursor, active: true, leaseOwner: owner, leaseUntil: 0 },
          ConditionExpression: '#active = :true AND #version = :version AND #pages = :pages AND #owner = :owner',
          ExpressionAttributeNames: { '#active': 'active', '#version': 'version', '#pages': 'pages', '#owner': 'leaseOwner' },
          ExpressionAttributeValues: { ':true': true, ':version': found.cursor.version, ':pages': found.cursor.pages, ':owner': owner },
        }),
      ),
    );
  }
}

function cursorOf(item: RefreshCursor & { botIds?: string[] }): RefreshCursor {
  return {
    version: String(item.version),
    startedAt: String(item.startedAt),
    offset: Number(item.offset),
    total: Number(item.total),
    pages: Number(item.pages),
    userCount: Number(item.userCount),
    identityCount: Number(item.identityCount),
    botIds: Array.isArray(item.botIds) ? item.botIds.map(String) : [],
    reason: item.reason === 'on-demand' ? 'on-demand' : 'schedule',
  };
}
