/**
 * The privileged-identity snapshot: one item per identity and version (`PRIV#<subjectHash>` /
 * `V#<version>`), so a lookup is one GetItem whatever the size of the account, one item per bot
 * of the account (`BOT#<botId>` / `V#<version>`), and a pointer item naming the current version. A refresh writes a whole new version, then flips the pointer; a
 * reader never sees half a snapshot.
 *
 * Old versions are not deleted: every identity item carries a TTL of `takenAt + retention`, and a
 * lookup in a snapshot older than its retention is refused (SnapshotExpiredError) rather than
 * trusted, so correctness does not depend on TTL removal (dynalite never removes anything).
 */
import { BatchWriteCommand, GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PrivilegedIdentity, SnapshotInfo } from '../../domain/model';
import { systemClock, type BotCatalogue, type Clock, type SnapshotReader } from '../../domain/ports';
import { SnapshotExpiredError, SnapshotWriteError, conditionalWrite, storeCall } from './errors';
import { SNAPSHOT_POINTER_KEY, botKey, identityKey } from './keys';
import { PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './table-schema';

export interface DynamoSnapshotStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock?: Clock;
  /** How long `getCurrentSnapshot` trusts its cached pointer (default 30 s). */
  cacheTtlMs?: number;
  /** How long identity items of a version are kept after its `takenAt` (default 7 days). */
  retentionSeconds?: number;
  /** Batch writes in flight at once while writing a snapshot (default 8). */
  writeConcurrency?: number;
  /** Retries of a batch's unprocessed items before giving up (default 8). */
  maxBatchRetries?: number;
}

/** DynamoDB's limit of items per BatchWriteItem. */
const BATCH_SIZE = 25;
const VERSION_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class DynamoSnapshotStore implements SnapshotReader, BotCatalogue {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #clock: Clock;
  readonly #cacheTtlMs: number;
  readonly #retentionSeconds: number;
  readonly #concurrency: number;
  readonly #maxBatchRetries: number;
  #cache: { info: SnapshotInfo | undefined; until: number } | undefined;

  constructor(options: DynamoSnapshotStoreOptions) {
    if (!options.tableName) throw new TypeError('DynamoSnapshotStore needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#clock = options.clock ?? systemClock;
    this.#cacheTtlMs = options.cacheTtlMs ?? 30_000;
    this.#retentionSeconds = options.retentionSeconds ?? 7 * 24 * 3600;
    this.#concurrency = Math.max(1, options.writeConcurrency ?? 8);
    this.#maxBatchRetries = options.maxBatchRetries ?? 8;
  }

  /**
   * Writes every identity and every bot id of version `version`, then makes it current unless a
   * snapshot taken later is current already (two refreshes racing: the newest `takenAt` wins;
   * rewriting the same version is allowed). Returns how many items were written (identities and
   * bots) and whether it became current. With `publish: false` it writes the items only (a paced
   * refresh writes a version page by page and publishes it once complete, with no items).
   * @throws RangeError when `version` is malformed or differs from `info.version`, or `takenAt` is
   *   not a date; SnapshotWriteError when a batch stayed unprocessed; StoreUnavailableError / StoreError.
   */
  async writeSnapshot(
    version: string,
    info: SnapshotInfo,
    identities: Iterable<PrivilegedIdentity>,
    botIds: Iterable<string> = [],
    options: { publish?: boolean } = {},
  ): Promise<{ written: number; current: boolean }> {
    if (!VERSION_PATTERN.test(version) || info.version !== version) throw new RangeError('The snapshot version is malformed or does not match its info');
    const takenAtMs = Date.parse(info.takenAt);
    if (Number.isNaN(takenAtMs)) throw new RangeError('The snapshot takenAt is not a date');
    const expiresAt = Math.ceil(takenAtMs / 1000) + this.#retentionSeconds;

    function* items(): Generator<Record<string, unknown>> {
      for (const identity of identities) {
        yield {
          ...identityKey(identity.subjectHash, version),
          accountOwner: identity.accountOwner,
          accountMember: identity.accountMember,
          ownedBotIds: identity.ownedBotIds,
          coDeveloperBotIds: identity.coDeveloperBotIds,
          [TTL_ATTRIBUTE]: expiresAt,
        };
      }
      for (const botId of botIds) yield { ...botKey(botId, version), [TTL_ATTRIBUTE]: expiresAt };
    }
    const iterator = items();
    const nextChunk = () => {
      // Keyed by item key: a batch may not name the same item twice.
      const chunk = new Map<string, Record<string, unknown>>();
      while (chunk.size < BATCH_SIZE) {
        const next = iterator.next();
        if (next.done) break;
        chunk.set(`${String(next.value[PARTITION_KEY])}|${String(next.value[SORT_KEY])}`, next.value);
      }
      return [...chunk.values()];
    };
    let written = 0;
    const worker = async () => {
      for (let chunk = nextChunk(); chunk.length > 0; chunk = nextChunk()) {
        await this.#writeBatch(chunk);
        written += chunk.length;
      }
    };
    await Promise.all(Array.from({ length: this.#concurrency }, worker));
    if (options.publish === false) return { written, current: false };

    const current = await conditionalWrite('PutItem', () =>
      this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...SNAPSHOT_POINTER_KEY,
            version,
            takenAt: info.takenAt,
            userCount: info.userCount,
            identityCount: info.identityCount,
            ...(info.botCount !== undefined ? { botCount: info.botCount } : {}),
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #takenAt < :takenAt OR #version = :version',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#takenAt': 'takenAt', '#version': 'version' },
          ExpressionAttributeValues: { ':takenAt': info.takenAt, ':version': version },
        }),
      ),
    );
    this.#cache = current ? { info: { ...info }, until: this.#clock.now().getTime() + this.#cacheTtlMs } : undefined;
    return { written, current };
  }

  /**
   * The current snapshot, or undefined before the first refresh. Cached for `cacheTtlMs` per
   * container, so a refresh elsewhere is seen within that time.
   * @throws StoreUnavailableError / StoreError.
   */
  async getCurrentSnapshot(): Promise<SnapshotInfo | undefined> {
    const now = this.#clock.now().getTime();
    if (this.#cache && this.#cache.until > now) return this.#cache.info && { ...this.#cache.info };
    const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key: SNAPSHOT_POINTER_KEY, ConsistentRead: true })));
    const item = out.Item;
    const info: SnapshotInfo | undefined = item && {
      version: String(item.version),
      takenAt: String(item.takenAt),
      userCount: Number(item.userCount),
      identityCount: Number(item.identityCount),
      ...(item.botCount !== undefined ? { botCount: Number(item.botCount) } : {}),
    };
    this.#cache = { info, until: now + this.#cacheTtlMs };
    return info && { ...info };
  }

  /** Forgets the cached pointer (after a refresh in this container, or in tests). */
  invalidateCache(): void {
    this.#cache = undefined;
  }

  /**
   * The identity indexed under `subjectHash` in snapshot `info`, or undefined when the subject is
   * not privileged there. One consistent GetItem.
   * @throws SnapshotExpiredError when the snapshot is older than its retention (its items may be
   *   gone); RangeError on a malformed version; StoreUnavailableError / StoreError.
   */
  async lookup(info: SnapshotInfo, subjectHash: string): Promise<PrivilegedIdentity | undefined> {
    this.#checkReadable(info);
    const out = await storeCall('GetItem', () =>
      this.#client.send(new GetCommand({ TableName: this.#table, Key: identityKey(subjectHash, info.version), ConsistentRead: true })),
    );
    const item = out.Item;
    if (!item) return undefined;
    return {
      subjectHash,
      accountOwner: item.accountOwner === true,
      accountMember: item.accountMember === true,
      ownedBotIds: Array.isArray(item.ownedBotIds) ? item.ownedBotIds.map(String) : [],
      coDeveloperBotIds: Array.isArray(item.coDeveloperBotIds) ? item.coDeveloperBotIds.map(String) : [],
    };
  }

  /**
   * Which of `botIds` are bots of the account in snapshot `info`: one consistent GetItem per id
   * (at most 20, the schema's limit), all in flight at once. A snapshot without a bot list
   * (`botCount` absent) knows no bot.
   * @throws SnapshotExpiredError when the snapshot is older than its retention; RangeError on a
   *   malformed version; StoreUnavailableError / StoreError.
   */
  async knownBots(info: SnapshotInfo, botIds: readonly string[]): Promise<Set<string>> {
    this.#checkReadable(info);
    if (info.botCount === undefined) return new Set();
    const found = await Promise.all(
      [...new Set(botIds)].map(async (botId) => {
        const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key: botKey(botId, info.version), ConsistentRead: true })));
        return out.Item ? botId : undefined;
      }),
    );
    return new Set(found.filter((id): id is string => id !== undefined));
  }

  /** Refuses a malformed version, or a snapshot past its retention (its items may be gone). */
  #checkReadable(info: SnapshotInfo): void {
    if (!VERSION_PATTERN.test(info.version)) throw new RangeError('The snapshot version is malformed');
    const takenAtMs = Date.parse(info.takenAt);
    if (Number.isNaN(takenAtMs) || this.#clock.now().getTime() >= (Math.ceil(takenAtMs / 1000) + this.#retentionSeconds) * 1000) {
      throw new SnapshotExpiredError(info.version);
    }
  }

  /** One BatchWriteItem of puts, retrying unprocessed items with exponential backoff. */
  async #writeBatch(items: Record<string, unknown>[]): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let retry = 0; ; retry++) {
      const out = await storeCall('BatchWriteItem', () => this.#client.send(new BatchWriteCommand({ RequestItems: { [this.#table]: requests } })));
      const unprocessed = out.UnprocessedItems?.[this.#table] ?? [];
      if (unprocessed.length === 0) return;
      if (retry >= this.#maxBatchRetries) throw new SnapshotWriteError(`${unprocessed.length} snapshot items stayed unprocessed`);
      requests = unprocessed as typeof requests;
      await sleep(Math.min(1000, 10 * 2 ** retry) * (0.5 + Math.random() / 2));
    }
  }
}
