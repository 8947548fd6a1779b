/**
 * Batches of erasures in DynamoDB, without transactions (see domain/erasure-batch for the rules).
 *
 * - Joining is two UpdateItems. The scope's window counter (`BATCH#<scope digest>` / `WINDOW`)
 *   is raised by one (`ADD`, atomic) while its window is open, or opens a window beginning now
 *   (the first joiner after a quiet spell: a batch waits one window from its first member on):
 *   the n-th joiner of the window belongs to batch ⌈n / size⌉.
 *   The member then writes itself into that batch (`B#<windowStart>#<n>`, one top-level attribute
 *   per member) on the condition that the batch is still `open`; a batch claimed in between makes
 *   the member join again, its count raised past that batch (so a later batch). A member written twice (a task run
 *   again) is the same attribute written twice.
 * - Claiming, marking `sending` and recording the answer are conditional UpdateItems on the batch
 *   item, each on its state and its claimer, so two members never both send one batch and a dead
 *   claim not yet `sending` is taken over by one member only.
 *
 * The scope key is hashed into the partition key (bot ids can be long, and the key stays short);
 * the items hold request ids and bot ids, never a user id.
 */
import { createHash } from 'node:crypto';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  batchNumberOf,
  fillsBatch,
  WINDOW_CLOCK_TOLERANCE_MS,
  type BatchFailure,
  type BatchRecord,
  type BatchState,
  type ErasureBatchPolicy,
  type ErasureBatchStore,
} from '../../domain/erasure-batch';
import { ConcurrentUpdateError } from '../../domain/errors';
import { systemClock, type Clock } from '../../domain/ports';
import { conditionalWrite, isConditionalCheckFailed, storeCall, translateStoreError } from './errors';
import { batchKey, batchWindowKey, epochSeconds } from './keys';
import { TTL_ATTRIBUTE } from './table-schema';

export interface DynamoErasureBatchStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  policy: ErasureBatchPolicy;
  clock?: Clock;
}

/** Batch items outlive their use by far: a batch is sent within seconds, read for minutes at most. */
const BATCH_TTL_SECONDS = 2 * 86_400;
/** Joins tried before a member gives up on batches that keep closing and sends alone. */
const MAX_JOIN_ROUNDS = 3;
const MEMBER_PREFIX = 'M#';
const STATE = 'batchState';
const ROUND = 'sendRound';

export const scopeDigestOf = (scopeKey: string) => createHash('sha256').update(scopeKey, 'utf8').digest('hex').slice(0, 32);

/** `<scope digest>/<window start>/<number>` → its key. @throws RangeError for anything else. */
function keyOfId(batchId: string) {
  const match = /^([0-9a-f]{32})\/(\d{1,16})\/(\d{1,6})$/.exec(batchId);
  if (!match) throw new RangeError('Not a batch id');
  return batchKey(match[1]!, Number(match[2]), Number(match[3]));
}

function recordOf(item: Record<string, unknown>): BatchRecord {
  const digest = String(item.pk).slice('BATCH#'.length);
  const windowStart = Number(item.windowStart);
  const number = Number(item.number);
  return {
    id: `${digest}/${windowStart}/${number}`,
    windowStart,
    number,
    botIds: (item.botIds as string[] | undefined) ?? [],
    members: Object.keys(item).filter((k) => k.startsWith(MEMBER_PREFIX)).map((k) => k.slice(MEMBER_PREFIX.length)).sort(),
    state: (item[STATE] as BatchState | undefined) ?? 'open',
    round: Number(item[ROUND] ?? 1),
    ...(item.claimBy !== undefined ? { claim: { by: String(item.claimBy), atMs: Number(item.claimAt) } } : {}),
    ...(Array.isArray(item.included) ? { included: item.included as string[] } : {}),
    ...(typeof item.koreRequestId === 'string' ? { koreRequestId: item.koreRequestId } : {}),
    ...(typeof item.acceptedAt === 'string' ? { acceptedAt: item.acceptedAt } : {}),
    ...(item.failure ? { failure: item.failure as BatchFailure } : {}),
  };
}

export class DynamoErasureBatchStore implements ErasureBatchStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #policy: ErasureBatchPolicy;
  readonly #clock: Clock;

  constructor(options: DynamoErasureBatchStoreOptions) {
    if (!options.tableName) throw new TypeError('DynamoErasureBatchStore needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#policy = options.policy;
    this.#clock = options.clock ?? systemClock;
  }

  async join(scopeKey: string, botIds: readonly string[], member: string): Promise<{ batch: BatchRecord; fills: boolean } | undefined> {
    const digest = scopeDigestOf(scopeKey);
    // After a batch closed in this member's face, the next count skips to the batch after it.
    let step = 1;
    for (let round = 0; round < MAX_JOIN_ROUNDS; round++) {
      const now = this.#clock.now();
      const expiresAt = epochSeconds(now) + BATCH_TTL_SECONDS;
      const { windowStart, n } = await this.#count(digest, now.getTime(), step, expiresAt);
      const number = batchNumberOf(n, this.#policy.size);
      try {
        const out = await this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: batchKey(digest, windowStart, number),
            UpdateExpression: 'SET #m = :joinedAt, #state = if_not_exists(#state, :open), windowStart = :ws, #number = :number, botIds = if_not_exists(botIds, :bots), #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(#state) OR #state = :open',
            ExpressionAttributeNames: { '#m': `${MEMBER_PREFIX}${member}`, '#state': STATE, '#number': 'number', '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':joinedAt': now.getTime(), ':open': 'open', ':ws': windowStart, ':number': number, ':bots': [...botIds], ':ttl': expiresAt },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { batch: recordOf(out.Attributes!), fills: fillsBatch(n, this.#policy.size) };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw translateStoreError(error, 'UpdateItem');
        // Claimed while this member was on its way: a later count, a later batch.
        step = number * this.#policy.size - n + 1;
      }
    }
    return undefined;
  }

  /**
   * Counts a joiner into the scope's gathering window: the window under way (it began less than
   * `gatherMs` ago, or begins at most WINDOW_CLOCK_TOLERANCE_MS ahead: another joiner's clock) is
   * counted up; none, one that is over, or one that lies further ahead (a clock moved back) is
   * replaced by a window beginning now. Each is one conditional UpdateItem; a lost race
   * between the two tries again.
   */
  async #count(digest: string, nowMs: number, step: number, expiresAt: number): Promise<{ windowStart: number; n: number }> {
    const Key = batchWindowKey(digest);
    const names = { '#ws': 'windowStart', '#n': 'joined', '#ttl': TTL_ATTRIBUTE };
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        const out = await this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key,
            UpdateExpression: 'ADD #n :step SET #ttl = :ttl',
            ConditionExpression: '#ws > :openSince AND #ws <= :aheadLimit',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':step': step, ':ttl': expiresAt, ':openSince': nowMs - this.#policy.gatherMs, ':aheadLimit': nowMs + WINDOW_CLOCK_TOLERANCE_MS },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { windowStart: Number(out.Attributes!.windowStart), n: Number(out.Attributes!.joined) };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw translateStoreError(error, 'UpdateItem');
      }
      const opened = await conditionalWrite('UpdateItem', () =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key,
            UpdateExpression: 'SET #ws = :now, #n = :step, #ttl = :ttl',
            ConditionExpression: 'attribute_not_exists(#ws) OR #ws <= :openSince OR #ws > :aheadLimit',
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ':step': step, ':ttl': expiresAt, ':now': nowMs, ':openSince': nowMs - this.#policy.gatherMs, ':aheadLimit': nowMs + WINDOW_CLOCK_TOLERANCE_MS },
          }),
        ),
      );
      if (opened) return { windowStart: nowMs, n: step };
    }
    throw new ConcurrentUpdateError('The gathering window kept changing while a request joined it');
  }

  async get(batchId: string): Promise<BatchRecord | undefined> {
    const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key: keyOfId(batchId), ConsistentRead: true })));
    return out.Item ? recordOf(out.Item) : undefined;
  }

  async claim(batchId: string, member: string): Promise<BatchRecord | undefined> {
    const nowMs = this.#clock.now().getTime();
    try {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keyOfId(batchId),
          UpdateExpression: 'SET #state = :claimed, claimBy = :me, claimAt = :now REMOVE included',
          // Open or asked to retry; or claimed, by this member (a run that ended before it sent)
          // or by one silent for claimStaleMs (or further ahead: a clock moved back). Never sending.
          ConditionExpression: 'attribute_exists(#state) AND (#state IN (:open, :retry) OR (#state = :claimed AND (claimBy = :me OR claimAt <= :staleBefore OR claimAt >= :staleAfter)))',
          ExpressionAttributeNames: { '#state': STATE },
          ExpressionAttributeValues: {
            ':claimed': 'claimed',
            ':open': 'open',
            ':retry': 'retry',
            ':me': member,
            ':now': nowMs,
            ':staleBefore': nowMs - this.#policy.claimStaleMs,
            ':staleAfter': nowMs + this.#policy.claimStaleMs,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return recordOf(out.Attributes!);
    } catch (error) {
      if (isConditionalCheckFailed(error)) return undefined;
      throw translateStoreError(error, 'UpdateItem');
    }
  }

  async markSending(batchId: string, member: string, included: readonly string[]): Promise<boolean> {
    return conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keyOfId(batchId),
          UpdateExpression: 'SET #state = :sending, included = :included, claimAt = :now',
          ConditionExpression: '#state = :claimed AND claimBy = :me',
          ExpressionAttributeNames: { '#state': STATE },
          ExpressionAttributeValues: { ':sending': 'sending', ':claimed': 'claimed', ':me': member, ':included': [...included], ':now': this.#clock.now().getTime() },
        }),
      ),
    );
  }

  async markOutcome(
    batchId: string,
    member: string,
    outcome: { state: 'sent'; koreRequestId: string; acceptedAt: string } | { state: 'retry' } | { state: 'refused' } | { state: 'failed'; failure: BatchFailure } | { state: 'lost' },
  ): Promise<boolean> {
    const nowMs = this.#clock.now().getTime();
    const values: Record<string, unknown> = { ':to': outcome.state, ':sending': 'sending', ':me': member };
    const set = ['#state = :to'];
    let remove = '';
    if (outcome.state === 'sent') {
      set.push('koreRequestId = :job', 'acceptedAt = :acceptedAt');
      Object.assign(values, { ':job': outcome.koreRequestId, ':acceptedAt': outcome.acceptedAt });
    }
    if (outcome.state === 'failed') {
      set.push('failure = :failure');
      values[':failure'] = outcome.failure;
    }
    // A retry sends again, a round later, with whoever claims next; the members it had stay members.
    if (outcome.state === 'retry') {
      remove = ' REMOVE included';
      set.push(`${ROUND} = if_not_exists(${ROUND}, :one) + :one`);
      values[':one'] = 1;
    }
    let condition = '#state = :sending AND claimBy = :me';
    if (outcome.state === 'lost') {
      // Any member may declare a dead claimer's batch lost; declaring it twice changes nothing.
      condition = '#state = :to OR (#state = :sending AND (claimBy = :me OR claimAt <= :staleBefore OR claimAt >= :staleAfter))';
      Object.assign(values, { ':staleBefore': nowMs - this.#policy.claimStaleMs, ':staleAfter': nowMs + this.#policy.claimStaleMs });
    }
    return conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: keyOfId(batchId),
          UpdateExpression: `SET ${set.join(', ')}${remove}`,
          ConditionExpression: `${condition}`,
          ExpressionAttributeNames: { '#state': STATE },
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }
}
