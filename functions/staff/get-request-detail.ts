/** Use case: one request with its timeline and the check of its hash chain against the signed checkpoints. */
import { verifyChain, type ChainCheckpoint, type ChainProblem } from '../domain/audit-chain';
import { RequestNotFoundError } from '../domain/errors';
import { type AuditEvent } from '../domain/model';
import * as z from '../domain/validation';
import { AuditDeps, RequestView, toView } from './audit-deps';

export interface ChainStatus {
  /**
   * No inconsistency found by the checks that could run. Not a verdict on its own: read `verdict`
   * (a chain nobody compared with a checkpoint can be consistent and still rewritten).
   */
  ok: boolean;
  /**
   * `VERIFIED`: every event matches the earliest signed checkpoint covering it.
   * `PARTLY_VERIFIED`: the events up to `checkpoint.coveredSeq` do; later ones are hash-checked only.
   * `NOT_VERIFIED_AGAINST_CHECKPOINTS`: hashes consistent, but no checkpoint could be compared.
   * `BROKEN`: an event does not fit (see `firstBad`).
   */
  verdict: 'VERIFIED' | 'PARTLY_VERIFIED' | 'NOT_VERIFIED_AGAINST_CHECKPOINTS' | 'BROKEN';
  /** The verdict in plain words, as the console shows it. */
  summary: string;
  checked: number;
  headHash: string;
  firstBad?: { seq: number; index: number; problem: ChainProblem | 'PROJECTION_MISMATCH'; checkpointAt?: string };
  checkpoint: {
    /**
     * `compared`: signed heads of this chain were compared. `not-covered`: no trusted checkpoint
     * covers this chain yet. `not-configured`: no checkpoint store here. `unavailable`: the store or
     * the checkpoint key could not be read.
     */
    status: 'compared' | 'not-covered' | 'not-configured' | 'unavailable';
    /** Events 1…coveredSeq were compared with a signed checkpoint (0: none). */
    coveredSeq: number;
    /** Distinct signed heads of this chain compared. */
    compared: number;
    /** The earliest and latest checkpoint stating a head of this chain. */
    earliestAt?: string;
    latestAt?: string;
    /** Objects in the checkpoint store that were not trusted (planted, garbage, unlinked). */
    ignoredObjects: number;
  };
}

export interface RequestDetail {
  request: RequestView;
  timeline: AuditEvent[];
  chain: ChainStatus;
}

export const NOT_COMPARED_BECAUSE: Record<'not-covered' | 'not-configured' | 'unavailable', string> = {
  'not-covered': 'no signed checkpoint covers this request yet',
  'not-configured': 'no checkpoint store is configured here',
  unavailable: 'the checkpoints could not be read',
};

/** The verdict and its words, from what the checks found. */
export function chainVerdict(found: Omit<ChainStatus, 'verdict' | 'summary'>): Pick<ChainStatus, 'verdict' | 'summary'> {
  const cp = found.checkpoint;
  if (!found.ok) {
    const bad = found.firstBad!;
    const against = bad.checkpointAt ? ` (against the signed checkpoint of ${bad.checkpointAt})` : '';
    return { verdict: 'BROKEN', summary: `Chain broken at event #${bad.seq}: ${bad.problem}${against}.` };
  }
  if (cp.status !== 'compared' || cp.coveredSeq === 0) {
    const reason = NOT_COMPARED_BECAUSE[cp.status === 'compared' ? 'not-covered' : cp.status];
    return {
      verdict: 'NOT_VERIFIED_AGAINST_CHECKPOINTS',
      summary: `Not verified against checkpoints: ${reason}. The ${found.checked} event hashes are consistent, which a rewrite with recomputed hashes would also be.`,
    };
  }
  const span = cp.earliestAt === cp.latestAt ? `the signed checkpoint of ${cp.earliestAt}` : `signed checkpoints from ${cp.earliestAt} to ${cp.latestAt}`;
  if (cp.coveredSeq < found.checked) {
    const rest = cp.coveredSeq + 1 === found.checked ? `event #${found.checked}` : `events #${cp.coveredSeq + 1}–#${found.checked}`;
    return {
      verdict: 'PARTLY_VERIFIED',
      summary: `Events #1–#${cp.coveredSeq} verified against ${span}; ${rest} not verified against checkpoints yet (hashes consistent).`,
    };
  }
  return { verdict: 'VERIFIED', summary: `All ${found.checked} events verified against ${span}, each against the earliest checkpoint covering it.` };
}

/**
 * The request, its full timeline and the chain check: hashes recomputed, every event compared with
 * the earliest trusted checkpoint covering it (when a checkpoint reader is configured), and the
 * projection compared with the chain. Where no checkpoint could be compared the verdict says so.
 * @throws RequestNotFoundError for an unknown id.
 */
export async function getRequestDetail(deps: AuditDeps, requestId: string): Promise<RequestDetail> {
  const request = await deps.store.getRequest(requestId);
  if (!request) throw new RequestNotFoundError(requestId);
  const timeline = await deps.store.getTimeline(requestId);
  let checkpoint: ChainStatus['checkpoint'] = { status: 'not-configured', coveredSeq: 0, compared: 0, ignoredObjects: 0 };
  let signed: readonly ChainCheckpoint[] = [];
  if (deps.checkpoints) {
    try {
      const found = await deps.checkpoints.checkpointsFor(requestId);
      signed = found.heads;
      checkpoint = {
        status: signed.length > 0 ? 'compared' : 'not-covered',
        coveredSeq: 0,
        compared: signed.length,
        ...(signed.length > 0 ? { earliestAt: signed[0]!.at, latestAt: signed.at(-1)!.at } : {}),
        ignoredObjects: found.ignored.length,
      };
    } catch {
      checkpoint = { status: 'unavailable', coveredSeq: 0, compared: 0, ignoredObjects: 0 };
    }
  }
  const verification = verifyChain(requestId, timeline, signed);
  if (verification.ok && signed.length > 0) checkpoint = { ...checkpoint, coveredSeq: Math.max(...signed.map((c) => c.seq)) };
  let found: Omit<ChainStatus, 'verdict' | 'summary'> = { ...verification, checkpoint };
  if (found.ok && (request.lastSeq > timeline.length || (request.lastSeq > 0 && timeline[request.lastSeq - 1]!.hash !== request.lastHash))) {
    // The projection claims a head the chain does not have: events were removed or rewritten behind
    // its back. A projection that lags (an append in flight, read between its two writes) is fine.
    const seq = Math.min(request.lastSeq, timeline.length) + 1;
    found = { ...found, ok: false, firstBad: { seq, index: seq - 1, problem: 'PROJECTION_MISMATCH' } };
  }
  return { request: toView(request, deps.clock.now()), timeline, chain: { ...found, ...chainVerdict(found) } };
}

// ---------------------------------------------------------------------------------------------
// Export
