/**
 * The cursor of a roles refresh under way, one item beside the snapshot pointer (`SNAPSHOT` /
 * `REFRESH`): which version is being written, the offset of the next page and the counts so far.
 * Every change is one conditional PutItem: a refresh starts only when none is active, and a page
 * moves the cursor on only from the page it read (`pages` unchanged), so two runs never both
 * advance it — the second sees the condition fail and stops.
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RefreshCursor } from '../../domain/role-paging';
import type { RefreshCursors } from '../../workflow/page-roles-snapshot';
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
    const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key: SNAPSHOT_REFRESH_KEY, ConsistentRead: true })));
    const item = out.Item as (RefreshCursor & { active?: boolean; botIds?: string[] }) | undefined;
    if (!item || item.active !== true) return undefined;
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

  /** Starts `cursor` unless a refresh is active. @returns false when one is. @throws StoreUnavailableError / StoreError. */
  async start(cursor: RefreshCursor): Promise<boolean> {
    return conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...SNAPSHOT_REFRESH_KEY, ...cursor, active: true },
          ConditionExpression: 'attribute_not_exists(pk) OR #active = :false',
          ExpressionAttributeNames: { '#active': 'active' },
          ExpressionAttributeValues: { ':false': false },
        }),
      ),
    );
  }

  /**
   * Moves the cursor from `from` to `to` (`active: false` ends the refresh, published or given up).
   * @returns false when another run moved it first. @throws StoreUnavailableError / StoreError.
   */
  async advance(from: RefreshCursor, to: RefreshCursor, active = true): Promise<boolean> {
    return conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: { ...SNAPSHOT_REFRESH_KEY, ...to, active },
          ConditionExpression: '#active = :true AND #version = :version AND #pages = :pages',
          ExpressionAttributeNames: { '#active': 'active', '#version': 'version', '#pages': 'pages' },
          ExpressionAttributeValues: { ':true': true, ':version': from.version, ':pages': from.pages },
        }),
      ),
    );
  }
}
