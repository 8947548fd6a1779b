/**
 * The shared status of a batch's Kore.ai job (`JOB#<job id>` / `STATUS`): one status check a
 * round serves every member. A member whose round finds no fresh answer takes the check for a
 * short while (`checkBy`/`checkUntil`, one conditional UpdateItem), asks the platform and
 * publishes the answer; the others read it. The answer holds each user's status under the HMAC of
 * the user id (domain/erasure-batch `jobUserKeyInput`), never an id.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ErasureBatchPolicy, SharedJobStatus, SharedJobStatusStore } from '../../domain/erasure-batch';
import { systemClock, type Clock } from '../../domain/ports';
import { conditionalWrite, storeCall } from './errors';
import { epochSeconds, jobStatusKey } from './keys';
import { TTL_ATTRIBUTE } from './table-schema';

export interface DynamoSharedJobStatusOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  policy: Pick<ErasureBatchPolicy, 'statusClaimMs'>;
  clock?: Clock;
}

/** A job is polled up to its deadline (7 days by default); its shared status lasts a day longer. */
const JOB_STATUS_TTL_SECONDS = 8 * 86_400;

export class DynamoSharedJobStatus implements SharedJobStatusStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #claimMs: number;
  readonly #clock: Clock;

  constructor(options: DynamoSharedJobStatusOptions) {
    if (!options.tableName) throw new TypeError('DynamoSharedJobStatus needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#claimMs = options.policy.statusClaimMs;
    this.#clock = options.clock ?? systemClock;
  }

  async read(koreRequestId: string): Promise<SharedJobStatus | undefined> {
    const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key: jobStatusKey(koreRequestId), ConsistentRead: true })));
    const item = out.Item;
    if (!item || item.checkedAtMs === undefined) return undefined;
    return {
      checkedAtMs: Number(item.checkedAtMs),
      statuses: (item.statuses as Record<string, string> | undefined) ?? {},
      ...(typeof item.lastUpdatedOn === 'string' ? { lastUpdatedOn: item.lastUpdatedOn } : {}),
      responseSha256: String(item.responseSha256 ?? ''),
      users: Number(item.users ?? 0),
    };
  }

  async claimCheck(koreRequestId: string, member: string): Promise<boolean> {
    const now = this.#clock.now();
    const nowMs = now.getTime();
    return conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: jobStatusKey(koreRequestId),
          UpdateExpression: 'SET checkBy = :me, checkUntil = :until, #ttl = :ttl',
          // Free, expired, this member's own, or further ahead than a claim can be (a clock moved back).
          ConditionExpression: 'attribute_not_exists(checkUntil) OR checkUntil <= :now OR checkBy = :me OR checkUntil > :until',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':me': member, ':now': nowMs, ':until': nowMs + this.#claimMs, ':ttl': epochSeconds(now) + JOB_STATUS_TTL_SECONDS },
        }),
      ),
    );
  }

  async publish(koreRequestId: string, status: SharedJobStatus): Promise<void> {
    // Never replaces a newer answer (a member whose check outlived its claim publishes late).
    const published = await conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: jobStatusKey(koreRequestId),
          UpdateExpression: `SET checkedAtMs = :at, statuses = :statuses, responseSha256 = :sha, #users = :users${status.lastUpdatedOn ? ', lastUpdatedOn = :lu' : ''} REMOVE checkBy, checkUntil`,
          ConditionExpression: 'attribute_not_exists(checkedAtMs) OR checkedAtMs < :at',
          ExpressionAttributeNames: { '#users': 'users' },
          ExpressionAttributeValues: {
            ':at': status.checkedAtMs,
            ':statuses': status.statuses,
            ':sha': status.responseSha256,
            ':users': status.users,
            ...(status.lastUpdatedOn ? { ':lu': status.lastUpdatedOn } : {}),
          },
        }),
      ),
    );
    if (!published) await this.release(koreRequestId);
  }

  async release(koreRequestId: string, member?: string): Promise<void> {
    await conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: jobStatusKey(koreRequestId),
          UpdateExpression: 'REMOVE checkBy, checkUntil',
          ConditionExpression: `${member === undefined ? 'attribute_exists(checkBy)' : 'checkBy = :me'}`,
          ...(member === undefined ? {} : { ExpressionAttributeValues: { ':me': member } }),
        }),
      ),
    );
  }
}
