/** Use case: staff submit a request received by letter or phone on a subject's behalf. */
import { InvalidSubmissionError } from '../domain/errors';
import { explainRejection } from '../domain/eligibility';
import { IllegalTransitionError } from '../domain/errors';
import { assertTransition } from '../domain/lifecycle';
import type { Actor, EligibilityRule, ErasureRequest, SubjectKind } from '../domain/model';
import { detectSubjectKind, hashSubject, normaliseSubjectId } from '../domain/subject';
import { validateOnBehalf } from './schema';
import { claimOrFind, abandon, createClaimedRequest } from './admission';
import { decideAndQueue } from './decide-and-queue';
import { IntakeDeps, RequestReference, scopeKeyOf, newRequestId, answer } from './intake-deps';

/** What staff get back from a submission on behalf. */
export type OnBehalfResult = RequestReference & {
  /** True when an open request of the same subject and scope already existed (nothing new was created). */
  existing: boolean;
  /** When rejected at intake: the rule, bots and the plain-words explanation to pass on. */
  rejection?: { rule: EligibilityRule; botIds: string[]; title: string; whatToDo: string };
};

/**
 * Staff submit a request received by letter or phone (`POST /ops/requests`): email or
 * enterprise id, the reason and how identity was checked are recorded with the staff member.
 * The request goes RECEIVED → VERIFIED (verified by staff), then the same eligibility/queue path
 * as a web request. Idempotent: an open request of the same subject and scope is returned.
 * Subjects named by email are told by email; for enterprise ids staff pass the answer on.
 * @throws InvalidSubmissionError naming the fields; store errors propagate.
 */
export async function submitOnBehalf(deps: IntakeDeps, input: unknown, staffActor: Actor): Promise<OnBehalfResult> {
  // Only staff submit on behalf; anything else is a wiring mistake, not a client error.
  if (!staffActor.startsWith('staff:')) throw new TypeError('submitOnBehalf needs a staff actor');
  const valid = validateOnBehalf(input);
  if (!valid.ok) throw new InvalidSubmissionError(valid.errors);
  const now = deps.clock.now();
  const kind: SubjectKind = detectSubjectKind(valid.value.subjectId);
  const subjectId = normaliseSubjectId(valid.value.subjectId, kind);
  const subjectHash = hashSubject(subjectId, deps.subjectKeys.hmacKey);
  const botIds = valid.value.botIds;
  const scopeKey = scopeKeyOf(botIds);
  const requestId = newRequestId(now);
  const claim = await claimOrFind(deps, subjectHash, scopeKey, requestId, now);
  if (!claim.claimed) {
    return { ...(await answer(deps, claim.existingId, claim.existing?.status ?? 'RECEIVED', now)), existing: true };
  }

  await createClaimedRequest(deps, {
    requestId,
    channel: 'ops',
    subjectHash,
    subjectKind: kind,
    plainId: subjectId,
    botIds,
    scopeKey,
    actor: staffActor,
    now,
    details: { reason: valid.value.reason },
  });

  let verified: ErasureRequest;
  try {
    ({ request: verified } = await deps.store.appendEvent(requestId, (current) => {
      if (current.status !== 'RECEIVED') throw new IllegalTransitionError(current.status, 'VERIFIED');
      const transition = assertTransition(current.status, 'VERIFIED');
      return {
        event: {
          type: transition.event,
          at: now.toISOString(),
          actor: staffActor,
          attempt: current.attempt,
          status: 'VERIFIED',
          details: { method: 'staff', verifiedBy: staffActor, identityCheckedBy: valid.value.identityCheckedBy, reason: valid.value.reason },
        },
      };
    }));
  } catch (error) {
    await abandon(deps, requestId, 'INTAKE_FAILED');
    throw error;
  }
  const outcome = await decideAndQueue(deps, verified, kind === 'email' ? subjectId : undefined);
  const rejection = outcome.rejection ? { ...outcome.rejection, ...explainRejection(outcome.rejection.rule, outcome.rejection.botIds) } : undefined;
  return { ...(await answer(deps, requestId, outcome.request.status, now)), existing: false, ...(rejection ? { rejection } : {}) };
}
