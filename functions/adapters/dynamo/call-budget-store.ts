/**
 * The shared Kore.ai call budget in DynamoDB: one item (`BUDGET` / `KORE`) holding the slot
 * counts of `domain/call-budget` as top-level numbers (`<window ms>@<slot start ms>`) and the
 * refusal backoff (`blockedUntil`). A turn reads the item, plans with the pure rules and applies
 * the plan as one conditional UpdateItem: each window's current slot is raised by the calls only
 * if it holds no more than the plan allows (`slot <= atMost`) and no refusal backoff is in
 * force. Earlier slots never change once their time is over, so the condition on the current
 * slots is all it takes: concurrent callers are serialised by DynamoDB on that one item, without
 * transactions and without a read-modify-write race. A caller whose condition fails reads again
 * and is granted or told how long to wait; a turn is counted only by a write that succeeded.
 *
 * A refusal is remembered in the container until its wait is over (for that priority and the
 * lower ones, whose ceilings are lower still; for every priority after a platform refusal): the
 * wait is a lower bound whatever others do, so callers in between are told to wait without
 * reading the item, and a saturated budget costs no DynamoDB reads.
 */
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CALL_PRIORITIES,
  EMPTY_BUDGET,
  planTurn,
  SLOT_KEY_PATTERN,
  slotLength,
  turnsAvailable,
  type BudgetState,
  type CallBudget,
  type CallBudgetPolicy,
  type CallPriority,
  type TurnPlan,
} from '../../domain/call-budget';
import { systemClock, type Clock } from '../../domain/ports';
import { conditionalWrite, storeCall } from './errors';
import { CALL_BUDGET_KEY } from './keys';

export interface DynamoCallBudgetOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  policy: CallBudgetPolicy;
  clock?: Clock;
  /** Reads and writes before a caller that keeps losing the race is told to wait (default 3: a lost race means the slot filled). */
  maxAttempts?: number;
}

export class DynamoCallBudget implements CallBudget {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #policy: CallBudgetPolicy;
  readonly #clock: Clock;
  readonly #maxAttempts: number;
  /** Per priority: no turn before this time (epoch ms), known from a refusal seen in this container. */
  readonly #notBefore: Record<CallPriority, number> = { erase: 0, status: 0, roles: 0, verify: 0 };

  constructor(options: DynamoCallBudgetOptions) {
    if (!options.tableName) throw new TypeError('DynamoCallBudget needs a table name');
    this.#client = options.client;
    this.#table = options.tableName;
    this.#policy = options.policy;
    this.#clock = options.clock ?? systemClock;
    this.#maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  }

  get policy(): CallBudgetPolicy {
    return this.#policy;
  }

  /**
   * Takes `calls` turns for `priority`, or says how long to wait.
   * @throws RangeError for a batch the priority can never take; StoreUnavailableError / StoreError.
   */
  async take(priority: CallPriority, calls = 1): Promise<{ granted: true } | { granted: false; waitMs: number }> {
    const turn = await this.#take(priority, () => calls);
    return turn.granted ? { granted: true } : turn;
  }

  /**
   * Takes as many turns for `priority` as fit now, 1 to `most`, with one conditional write; or
   * says how long to wait when not even one fits.
   * @throws RangeError when `most` is not a positive integer; StoreUnavailableError / StoreError.
   */
  async takeUpTo(priority: CallPriority, most: number): Promise<{ granted: true; calls: number } | { granted: false; waitMs: number }> {
    if (!Number.isInteger(most) || most < 1) throw new RangeError('most must be a positive integer');
    return this.#take(priority, (state, nowMs) => Math.max(1, Math.min(most, turnsAvailable(state, this.#policy, priority, nowMs))));
  }

  /** Reads, plans `count(state, now)` turns and applies the plan; a lost race reads again. */
  async #take(priority: CallPriority, count: (state: BudgetState, nowMs: number) => number): Promise<{ granted: true; calls: number } | { granted: false; waitMs: number }> {
    const known = this.#notBefore[priority] - this.#clock.now().getTime();
    if (known > 0) return { granted: false, waitMs: known };
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const state = await this.read();
      const nowMs = this.#clock.now().getTime();
      const calls = count(state, nowMs);
      const plan = planTurn(state, this.#policy, priority, nowMs, calls);
      if (!plan.granted) {
        this.#remember(priority, nowMs + plan.waitMs);
        return plan;
      }
      if (await this.#apply(plan, nowMs)) return { granted: true, calls };
    }
    return { granted: false, waitMs: Math.ceil(slotLength(this.#policy.windows[0]!, this.#policy)) };
  }

  /** One conditional UpdateItem: the plan's calls added to each current slot if it holds at most what the plan allows. */
  async #apply(plan: Extract<TurnPlan, { granted: true }>, nowMs: number): Promise<boolean> {
    const names: Record<string, string> = { '#blocked': 'blockedUntil' };
    const values: Record<string, number> = { ':calls': plan.calls, ':zero': 0, ':now': nowMs };
    const set: string[] = [];
    const conditions = ['(attribute_not_exists(#blocked) OR #blocked <= :now)'];
    plan.add.forEach(({ key, atMost }, i) => {
      names[`#a${i}`] = key;
      values[`:max${i}`] = atMost;
      set.push(`#a${i} = if_not_exists(#a${i}, :zero) + :calls`);
      conditions.push(`(attribute_not_exists(#a${i}) OR #a${i} <= :max${i})`);
    });
    // Slots past their time go with the same write (a few at a time; the item stays small).
    const prune = plan.prune.slice(0, 20);
    prune.forEach((key, i) => (names[`#p${i}`] = key));
    return conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: CALL_BUDGET_KEY,
          UpdateExpression: `SET ${set.join(', ')}${prune.length > 0 ? ` REMOVE ${prune.map((_, i) => `#p${i}`).join(', ')}` : ''}`,
          ConditionExpression: `${conditions.join(' AND ')}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  /**
   * Makes every caller wait after a rate-limit refusal (`retryAfterMs`, else the policy's
   * backoff). A wait already in force that lasts longer stays.
   * @throws StoreUnavailableError / StoreError.
   */
  async refused(retryAfterMs?: number): Promise<{ waitMs: number }> {
    const waitMs = retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : this.#policy.refusalBackoffMs;
    const until = this.#clock.now().getTime() + waitMs;
    this.#remember('erase', until);
    await conditionalWrite('UpdateItem', () =>
      this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: CALL_BUDGET_KEY,
          UpdateExpression: 'SET #blocked = :until',
          ConditionExpression: 'attribute_not_exists(#blocked) OR #blocked < :until',
          ExpressionAttributeNames: { '#blocked': 'blockedUntil' },
          ExpressionAttributeValues: { ':until': until },
        }),
      ),
    );
    return { waitMs };
  }

  /** No turn for `priority` and the priorities below it before `until`. */
  #remember(priority: CallPriority, until: number): void {
    for (const p of CALL_PRIORITIES.slice(CALL_PRIORITIES.indexOf(priority))) this.#notBefore[p] = Math.max(this.#notBefore[p], until);
  }

  /** The budget as stored. @throws StoreUnavailableError / StoreError. */
  async read(): Promise<BudgetState> {
    const out = await storeCall('GetItem', () => this.#client.send(new GetCommand({ TableName: this.#table, Key: CALL_BUDGET_KEY, ConsistentRead: true })));
    const item = out.Item;
    if (!item) return EMPTY_BUDGET;
    const slots: Record<string, number> = {};
    for (const [key, value] of Object.entries(item)) if (SLOT_KEY_PATTERN.test(key)) slots[key] = Number(value);
    return { slots, blockedUntil: Number(item.blockedUntil ?? 0) };
  }
}
