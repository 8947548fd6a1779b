/**
 * The scheduled read-back of completed erasures (verify-erasures): for each COMPLETED request
 * whose read-back is due, ask Kore.ai's Sessions History API for the subject's sessions over the
 * look-back, at the lowest priority of the shared call budget, and record what it found as an
 * audit event. The rules are pure in functions/domain/verification.ts; this module reads, calls
 * and writes.
 *
 * A run stops at the first read-back without a turn of the budget: the ones after it would get
 * none either, and they stay due for the next run. A read-back is one call per window of at most
 * 7 days when nothing is found; a window with more than {@link SESSIONS_PAGE_SIZE} sessions takes
 * a call per page, up to {@link MAX_PAGES_PER_WINDOW} (the count is then a lower bound).
 */
import { createHash } from 'node:crypto';
import type { CallBudget } from '../domain/call-budget';
import { KoreAuthError, KoreRetryableError, KoreScopeMissingError, type KoreSessionsHistory } from '../domain/kore';
import type { ErasureRequest } from '../domain/model';
import { silentLogger, type AuditStore, type Clock, type Logger, type OpenRequestClaims, type Page } from '../domain/ports';
import { decryptSubjectId, type SubjectKeys } from '../domain/subject';
import {
  afterFailedReadBack,
  afterReadBack,
  isReadBackDue,
  readBackWindows,
  type ReadBack,
  type ReadBackFailure,
  type Verification,
  type VerificationPolicy,
} from '../domain/verification';
import { endForGood } from './task-deps';

export interface VerifyErasuresDeps {
  store: AuditStore;
  claims: OpenRequestClaims;
  sessions: KoreSessionsHistory;
  clock: Clock;
  subjectKeys: SubjectKeys;
  policy: VerificationPolicy;
  /** The shared Kore.ai call budget (priority `verify`); absent: unlimited (tests, tools). */
  budget?: CallBudget;
  /** Most read-backs one run makes (default 100). */
  maxPerRun?: number;
  logger?: Logger;
}

export interface VerifyReport {
  /** Due read-backs looked at. */
  due: number;
  verified: number;
  rechecks: number;
  dataFound: number;
  notVerified: number;
  /** Left due for the next run: no turn of the budget (or the platform's limit) this time. */
  waiting: number;
  errors: number;
}

export const SESSIONS_PAGE_SIZE = 100;
export const MAX_PAGES_PER_WINDOW = 10;
/** Completed requests received longer ago than this are not looked at (deadline + extension + retries). */
export const LISTING_HORIZON_DAYS = 200;

const ACTOR = 'system:verifier' as const;

class NoTurn extends Error {
  constructor(readonly failure: ReadBackFailure) {
    super(failure);
    this.name = 'NoTurn';
  }
}

/** Reads every window of a request back: counts, bots and the sha256 of the answers. @throws NoTurn, and the client's errors. */
async function readBack(deps: VerifyErasuresDeps, userId: string, completedAt: string): Promise<ReadBack> {
  const windows = readBackWindows(completedAt, deps.policy.lookBackDays);
  const hash = createHash('sha256');
  let sessions = 0;
  const bots = new Set<string>();
  for (const window of windows) {
    for (let page = 0; page < MAX_PAGES_PER_WINDOW; page++) {
      if (deps.budget) {
        const turn = await deps.budget.take('verify');
        if (!turn.granted) throw new NoTurn('no-turn');
      }
      let answer;
      try {
        answer = await deps.sessions.getSessions({ userId, dateFrom: window.from, dateTo: window.to, skip: page * SESSIONS_PAGE_SIZE, limit: SESSIONS_PAGE_SIZE });
      } catch (error) {
        if (error instanceof KoreRetryableError) {
          if (error.rateLimited && deps.budget) await deps.budget.refused(error.retryAfterMs);
          throw new NoTurn(error.rateLimited ? 'no-turn' : 'platform-unavailable');
        }
        throw error;
      }
      hash.update(answer.rawBody).update('\n');
      sessions += answer.sessions.length;
      for (const s of answer.sessions) if (s.botId) bots.add(s.botId);
      if (!answer.moreAvailable) break;
    }
  }
  return { sessions, botIds: [...bots].sort(), readBackSha256: hash.digest('hex'), window: { from: windows.at(-1)!.from, to: windows[0]!.to } };
}

function failureOf(error: unknown): ReadBackFailure {
  if (error instanceof NoTurn) return error.failure;
  if (error instanceof KoreScopeMissingError) return 'scope-missing';
  if (error instanceof KoreAuthError) return 'platform-error';
  return 'platform-error';
}

/** Appends the read-back's event when the request still waits for it; returns the request after it, or undefined when it moved on meanwhile. */
async function record(deps: VerifyErasuresDeps, request: ErasureRequest, expected: Verification, next: Verification, now: Date): Promise<ErasureRequest | undefined> {
  try {
    const { request: after } = await deps.store.appendEvent(request.requestId, (current) => {
      if (current.status !== 'COMPLETED' || current.verification?.stage !== expected.stage || current.verification.attempt !== expected.attempt) throw new MovedOn();
      const facts = {
        verifiedAttempt: next.attempt,
        ...(next.sessions !== undefined ? { sessions: next.sessions, botIds: next.botIds ?? [] } : {}),
        ...(next.readBackSha256 ? { readBackSha256: next.readBackSha256 } : {}),
        ...(next.window ? { windowFrom: next.window.from, windowTo: next.window.to } : {}),
      };
      const event =
        next.stage === 'recheck'
          ? { type: 'VERIFICATION_RECHECK' as const, details: { ...facts, recheckDueAt: next.dueAt! } }
          : { type: 'ERASURE_VERIFIED' as const, details: { outcome: next.stage, ...(next.reason ? { reason: next.reason } : {}), ...facts } };
      return { event: { ...event, at: now.toISOString(), actor: ACTOR, attempt: current.attempt, status: current.status }, patch: { verification: next } };
    });
    return after;
  } catch (error) {
    if (error instanceof MovedOn) return undefined;
    throw error;
  }
}

class MovedOn extends Error {
  constructor() {
    super('The request moved on');
    this.name = 'MovedOn';
  }
}

async function* completedPages(store: AuditStore, from: string): AsyncGenerator<ErasureRequest[]> {
  let cursor: string | undefined;
  do {
    const page: Page<ErasureRequest> = await store.listByStatus({ status: 'COMPLETED', from, limit: 100, ...(cursor ? { cursor } : {}) });
    yield page.items;
    cursor = page.cursor;
  } while (cursor);
}

/**
 * One run: every due read-back of a COMPLETED request, until the budget has no turn left. Once a
 * turn is refused (or `maxPerRun` is reached) the rest of the page already read is only judged
 * (a read-back past its longest wait ends `budget-exhausted`) and the listing stops: under a
 * burst of erasures a run costs one page of reads, not the whole list.
 * @throws StoreUnavailableError and the store's other errors from the listing; one request's
 *   failure is counted (`errors`) and the run goes on.
 */
export async function verifyErasures(deps: VerifyErasuresDeps): Promise<VerifyReport> {
  const report: VerifyReport = { due: 0, verified: 0, rechecks: 0, dataFound: 0, notVerified: 0, waiting: 0, errors: 0 };
  const now = deps.clock.now();
  const horizon = new Date(now.getTime() - LISTING_HORIZON_DAYS * 86_400_000).toISOString();
  let outOfTurns = false;
  for await (const page of completedPages(deps.store, horizon)) {
    for (const request of page) await verifyOne(request);
    if (outOfTurns || report.due >= (deps.maxPerRun ?? 100)) break;
  }
  return report;

  async function verifyOne(request: ErasureRequest): Promise<void> {
    if (!isReadBackDue(request.verification, now)) return;
    report.due++;
    if (outOfTurns || report.due > (deps.maxPerRun ?? 100)) {
      // Still judged: a read-back past its longest wait ends `budget-exhausted` even without a call.
      const next = afterFailedReadBack(request.verification!, 'no-turn', now, deps.policy);
      if (next) await settle(deps, request, next, now, report);
      else report.waiting++;
      return;
    }
    try {
      let next: Verification | undefined;
      if (!request.subjectCipher || !request.completedAt) {
        next = afterFailedReadBack(request.verification!, 'platform-error', now, deps.policy);
      } else {
        const userId = decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey);
        try {
          next = afterReadBack(request.verification!, await readBack(deps, userId, request.completedAt), now, deps.policy);
        } catch (error) {
          const failure = failureOf(error);
          if (failure === 'no-turn') outOfTurns = true;
          next = afterFailedReadBack(request.verification!, failure, now, deps.policy);
          (deps.logger ?? silentLogger).warn('read-back failed', { requestId: request.requestId, failure, error: error instanceof Error ? error.name : 'Error' });
        }
      }
      if (next) await settle(deps, request, next, now, report);
      else report.waiting++;
    } catch (error) {
      report.errors++;
      (deps.logger ?? silentLogger).error('verification step failed', { requestId: request.requestId, error: error instanceof Error ? error.name : 'Error' });
    }
  }
}

async function settle(deps: VerifyErasuresDeps, request: ErasureRequest, next: Verification, now: Date, report: VerifyReport): Promise<void> {
  const after = await record(deps, request, request.verification!, next, now);
  if (!after) return;
  if (next.stage === 'verified') report.verified++;
  else if (next.stage === 'recheck') report.rechecks++;
  else if (next.stage === 'data-found') report.dataFound++;
  else report.notVerified++;
  // The outcome stands: the plain subject id goes (unless data was found: a retry needs it).
  await endForGood(deps, after);
}
