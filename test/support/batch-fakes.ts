/**
 * In-memory stand-ins of the batch store and the shared job status store, with the same rules as
 * the DynamoDB adapters (a window opened by its first joiner, a batch joinable while open, claims
 * by state and claimer, a dead claim taken over, a short status check), for the workflow tasks'
 * unit tests. Their DynamoDB twins are tested on dynalite (test/integration/store).
 */
import {
  batchNumberOf,
  fillsBatch,
  isClaimDead,
  WINDOW_CLOCK_TOLERANCE_MS,
  type BatchFailure,
  type BatchRecord,
  type ErasureBatchPolicy,
  type ErasureBatchStore,
  type SharedJobStatus,
  type SharedJobStatusStore,
} from '../../functions/domain/erasure-batch';
import type { Clock } from '../../functions/domain/ports';

export class InMemoryBatches implements ErasureBatchStore {
  readonly batches = new Map<string, BatchRecord>();
  readonly #windows = new Map<string, { start: number; n: number }>();
  constructor(
    private readonly policy: ErasureBatchPolicy,
    private readonly clock: Clock,
  ) {}

  async join(scopeKey: string, botIds: readonly string[], member: string): Promise<{ batch: BatchRecord; fills: boolean } | undefined> {
    let step = 1;
    for (let round = 0; round < 3; round++) {
      const now = this.clock.now().getTime();
      const open = this.#windows.get(scopeKey);
      const window = open && open.start <= now + WINDOW_CLOCK_TOLERANCE_MS && open.start > now - this.policy.gatherMs ? open : { start: now, n: 0 };
      window.n += step;
      this.#windows.set(scopeKey, window);
      const number = batchNumberOf(window.n, this.policy.size);
      const id = `${scopeKey}/${window.start}/${number}`;
      const batch = this.batches.get(id) ?? { id, windowStart: window.start, number, botIds: [...botIds], members: [], state: 'open' as const, round: 1 };
      if (batch.state !== 'open') {
        step = number * this.policy.size - window.n + 1;
        continue;
      }
      if (!batch.members.includes(member)) batch.members = [...batch.members, member].sort();
      this.batches.set(id, batch);
      return { batch: structuredClone(batch), fills: fillsBatch(window.n, this.policy.size) };
    }
    return undefined;
  }

  async get(batchId: string): Promise<BatchRecord | undefined> {
    const batch = this.batches.get(batchId);
    return batch ? structuredClone(batch) : undefined;
  }

  async claim(batchId: string, member: string): Promise<BatchRecord | undefined> {
    const batch = this.batches.get(batchId);
    const now = this.clock.now().getTime();
    if (!batch) return undefined;
    const free = batch.state === 'open' || batch.state === 'retry' || (batch.state === 'claimed' && (batch.claim?.by === member || isClaimDead(batch.claim!.atMs, now, this.policy)));
    if (!free) return undefined;
    batch.state = 'claimed';
    batch.claim = { by: member, atMs: now };
    delete batch.included;
    return structuredClone(batch);
  }

  async markSending(batchId: string, member: string, included: readonly string[]): Promise<boolean> {
    const batch = this.batches.get(batchId);
    if (!batch || batch.state !== 'claimed' || batch.claim?.by !== member) return false;
    Object.assign(batch, { state: 'sending', included: [...included], claim: { by: member, atMs: this.clock.now().getTime() } });
    return true;
  }

  async markOutcome(
    batchId: string,
    member: string,
    outcome: { state: 'sent'; koreRequestId: string; acceptedAt: string } | { state: 'retry' } | { state: 'refused' } | { state: 'failed'; failure: BatchFailure } | { state: 'lost' },
  ): Promise<boolean> {
    const batch = this.batches.get(batchId);
    if (!batch) return false;
    const mine = batch.state === 'sending' && batch.claim?.by === member;
    if (outcome.state === 'lost') {
      if (!(batch.state === 'lost' || mine || (batch.state === 'sending' && isClaimDead(batch.claim!.atMs, this.clock.now().getTime(), this.policy)))) return false;
    } else if (!mine) return false;
    batch.state = outcome.state;
    if (outcome.state === 'sent') Object.assign(batch, { koreRequestId: outcome.koreRequestId, acceptedAt: outcome.acceptedAt });
    if (outcome.state === 'failed') batch.failure = outcome.failure;
    if (outcome.state === 'retry') {
      delete batch.included;
      batch.round += 1;
    }
    return true;
  }
}

export class InMemoryJobStatus implements SharedJobStatusStore {
  readonly answers = new Map<string, SharedJobStatus>();
  readonly #checks = new Map<string, { by: string; until: number }>();
  constructor(
    private readonly policy: Pick<ErasureBatchPolicy, 'statusClaimMs'>,
    private readonly clock: Clock,
  ) {}

  async read(koreRequestId: string) {
    const answer = this.answers.get(koreRequestId);
    return answer ? structuredClone(answer) : undefined;
  }

  async claimCheck(koreRequestId: string, member: string) {
    const now = this.clock.now().getTime();
    const held = this.#checks.get(koreRequestId);
    if (held && held.until > now && held.by !== member && held.until <= now + this.policy.statusClaimMs) return false;
    this.#checks.set(koreRequestId, { by: member, until: now + this.policy.statusClaimMs });
    return true;
  }

  async publish(koreRequestId: string, status: SharedJobStatus) {
    this.answers.set(koreRequestId, structuredClone(status));
    this.#checks.delete(koreRequestId);
  }

  async release(koreRequestId: string, member: string) {
    if (this.#checks.get(koreRequestId)?.by === member) this.#checks.delete(koreRequestId);
  }
}
