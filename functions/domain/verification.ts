/**
 * Verified erasure: the pure rules for reading the platform back after it said SUCCESS.
 *
 * When an erasure completes, the desk asks Kore.ai's Sessions History API for the subject's
 * sessions over a look-back before the completion (in windows of at most 7 days, the span the
 * platform's own default covers) and records what it found:
 *
 * - `verified`: no session found;
 * - `data-found`: sessions remain (how many and in which bots, never their content), after one
 *   re-check a lag later so that the platform's own processing delay is not taken for a failure;
 * - `not-verified` with a reason: the app lacks the Sessions scope (`scope-missing`), the
 *   read-back never got a turn of the call budget in time (`budget-exhausted`), or the platform
 *   answered an error that retrying does not mend (`platform-error`).
 *
 * A completed request carries its verification (`ErasureRequest.verification`) while it is
 * `pending` (first read-back due) or `recheck` (second read-back due); it keeps the encrypted
 * subject id only until the outcome stands, and after `data-found` until ops retry it, since both
 * the read-back and a new DELETE need the plain id. Sessions that start after the erasure completed
 * are not counted: the subject may well come back and talk to a bot again.
 */
import { createHash } from 'node:crypto';
import type { RequestChannel } from './model';

export const VERIFICATION_OUTCOMES = ['verified', 'data-found', 'not-verified'] as const;
export type VerificationOutcome = (typeof VERIFICATION_OUTCOMES)[number];

export const NOT_VERIFIED_REASONS = ['scope-missing', 'budget-exhausted', 'platform-error'] as const;
export type NotVerifiedReason = (typeof NOT_VERIFIED_REASONS)[number];

/** Where a request's verification stands: two states waiting for a read-back, then an outcome. */
export type VerificationStage = 'pending' | 'recheck' | VerificationOutcome;

/** The verification of a completed erasure as the request's projection carries it. No personal data. */
export interface Verification {
  stage: VerificationStage;
  /** The erasure attempt it verifies. */
  attempt: number;
  /** `pending` / `recheck`: when the next read-back is due (ISO). */
  dueAt?: string;
  /** When the outcome stood (ISO). */
  at?: string;
  reason?: NotVerifiedReason;
  /** Sessions found at the last read-back, and their bots (sorted ids). */
  sessions?: number;
  botIds?: string[];
  /** sha256 (hex) of the platform's answers of the last read-back, in window order. */
  readBackSha256?: string;
  /** The time span read back (ISO). */
  window?: { from: string; to: string };
}

export interface VerificationPolicy {
  /** Days before the completion whose sessions are read back (≥ 1). */
  lookBackDays: number;
  /** Seconds between the completion and the first read-back, and between a read-back that found data and its re-check. */
  lagSeconds: number;
  /** Share of completed erasures verified, 0..1 (the canary always is). */
  sampleShare: number;
  /** Past its due time by this long without a turn of the call budget, a read-back is given up (`budget-exhausted`). */
  maxWaitSeconds: number;
}

/** The longest span of one read-back call: the platform reads 7 days by default (docs/kore-platform.md S4). */
export const MAX_WINDOW_DAYS = 7;

/**
 * The defaults, and why: 14 days are two calls (two 7-day windows) and cover the sessions of the
 * fortnight before the erasure; a 5-minute lag covers the platform's own processing; every
 * completed erasure is verified while the budget allows; a read-back still without a turn a day
 * after it was due is given up as `budget-exhausted` rather than left pending for ever.
 */
export const DEFAULT_VERIFICATION_POLICY: Readonly<VerificationPolicy> = Object.freeze({ lookBackDays: 14, lagSeconds: 300, sampleShare: 1, maxWaitSeconds: 86_400 });

/** @throws RangeError when a setting is outside its range. */
export function validVerificationPolicy(policy: VerificationPolicy): VerificationPolicy {
  if (!Number.isInteger(policy.lookBackDays) || policy.lookBackDays < 1 || policy.lookBackDays > 366) throw new RangeError('lookBackDays must be an integer in 1..366');
  if (!(Number.isFinite(policy.lagSeconds) && policy.lagSeconds >= 0 && policy.lagSeconds <= 86_400)) throw new RangeError('lagSeconds must be in 0..86400');
  if (!(policy.sampleShare >= 0 && policy.sampleShare <= 1)) throw new RangeError('sampleShare must be in [0, 1]');
  if (!(policy.maxWaitSeconds > 0)) throw new RangeError('maxWaitSeconds must be positive');
  return policy;
}

/**
 * Whether a completed request is read back: always the canary (it proves the read-back works),
 * otherwise a share of requests chosen by their id's hash, so the choice is the same whoever
 * makes it and however often.
 */
export function selectedForVerification(requestId: string, channel: RequestChannel, sampleShare: number): boolean {
  if (channel === 'canary' || sampleShare >= 1) return true;
  if (sampleShare <= 0) return false;
  const draw = Number.parseInt(createHash('sha256').update(requestId).digest('hex').slice(0, 8), 16) / 0x1_0000_0000;
  return draw < sampleShare;
}

/** The verification a just-completed attempt starts with: the first read-back one lag later. */
export function verificationAtCompletion(attempt: number, completedAt: Date, policy: VerificationPolicy): Verification {
  return { stage: 'pending', attempt, dueAt: new Date(completedAt.getTime() + policy.lagSeconds * 1000).toISOString() };
}

/** A read-back is due: the request waits for one and its time has come. */
export function isReadBackDue(verification: Verification | undefined, now: Date): boolean {
  return (verification?.stage === 'pending' || verification?.stage === 'recheck') && Date.parse(verification.dueAt ?? '') <= now.getTime();
}

/** While this holds, the encrypted subject id stays with the request (a read-back or a retry still needs it). */
export function verificationNeedsSubjectId(verification: Verification | undefined): boolean {
  return verification?.stage === 'pending' || verification?.stage === 'recheck' || verification?.stage === 'data-found';
}

const DAY_MS = 86_400_000;

/**
 * The windows to read back, newest first, each at most {@link MAX_WINDOW_DAYS} long: together
 * they span `lookBackDays` up to the completion. Sessions after the completion are not read.
 */
export function readBackWindows(completedAt: string, lookBackDays: number): { from: string; to: string }[] {
  const end = Date.parse(completedAt);
  if (!Number.isFinite(end)) throw new RangeError('completedAt must be an ISO time');
  const start = end - lookBackDays * DAY_MS;
  const windows: { from: string; to: string }[] = [];
  for (let to = end; to > start; to -= MAX_WINDOW_DAYS * DAY_MS) {
    windows.push({ from: new Date(Math.max(start, to - MAX_WINDOW_DAYS * DAY_MS)).toISOString(), to: new Date(to).toISOString() });
  }
  return windows;
}

/** What one read-back found: the sessions of the subject over every window, counted and by bot. */
export interface ReadBack {
  sessions: number;
  botIds: string[];
  readBackSha256: string;
  window: { from: string; to: string };
}

/**
 * The next verification after a read-back. No session: `verified`. Sessions at the first
 * read-back: a `recheck` one lag later (the platform may still be removing them). Sessions at the
 * re-check: `data-found` stands.
 */
export function afterReadBack(current: Verification, found: ReadBack, now: Date, policy: VerificationPolicy): Verification {
  const facts = { attempt: current.attempt, sessions: found.sessions, botIds: [...new Set(found.botIds)].sort(), readBackSha256: found.readBackSha256, window: found.window };
  if (found.sessions === 0) return { stage: 'verified', at: now.toISOString(), ...facts };
  if (current.stage === 'pending') return { stage: 'recheck', dueAt: new Date(now.getTime() + policy.lagSeconds * 1000).toISOString(), ...facts };
  return { stage: 'data-found', at: now.toISOString(), ...facts };
}

/**
 * Why a read-back could not be made. `no-turn`: the call budget had none (or the platform's rate
 * limit refused); `platform-unavailable`: an error worth retrying later (5xx, no answer);
 * `platform-error`: one that retrying does not mend.
 */
export type ReadBackFailure = 'scope-missing' | 'platform-error' | 'platform-unavailable' | 'no-turn';

/**
 * The verification after a read-back that could not be made: the scope missing or a permanent
 * platform error end it as `not-verified`; without a turn, or with the platform unavailable, it
 * stays as it is and is tried at the next run, until it is `maxWaitSeconds` past due (then
 * `not-verified: budget-exhausted`, or `platform-error`). Returns undefined when nothing changes.
 */
export function afterFailedReadBack(current: Verification, failure: ReadBackFailure, now: Date, policy: VerificationPolicy): Verification | undefined {
  if (failure === 'no-turn' || failure === 'platform-unavailable') {
    const late = now.getTime() - Date.parse(current.dueAt ?? now.toISOString());
    if (late < policy.maxWaitSeconds * 1000) return undefined;
    return { stage: 'not-verified', attempt: current.attempt, at: now.toISOString(), reason: failure === 'no-turn' ? 'budget-exhausted' : 'platform-error' };
  }
  return { stage: 'not-verified', attempt: current.attempt, at: now.toISOString(), reason: failure };
}

/** How people read an outcome: `verified`, `data found (3 sessions in 1 bot)`, `not verified: scope missing`. */
export function describeVerification(verification: Verification | undefined): string | undefined {
  if (!verification) return undefined;
  switch (verification.stage) {
    case 'pending':
    case 'recheck':
      return 'verification pending';
    case 'verified':
      return 'verified';
    case 'data-found': {
      const bots = verification.botIds?.length ?? 0;
      return `data found (${verification.sessions ?? 0} session${verification.sessions === 1 ? '' : 's'} in ${bots} bot${bots === 1 ? '' : 's'})`;
    }
    case 'not-verified':
      return `not verified: ${(verification.reason ?? 'platform-error').replace('-', ' ')}`;
  }
}
