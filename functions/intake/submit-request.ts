/**
 * Use case: a subject submits a request (JSON or form). Plain functions over the domain ports
 * (store, claims, tokens, limits, mail, snapshot, workflow, signer), as every intake action in
 * this folder (one action a file; `intake-deps.ts` holds their deps, `admission.ts` the claim
 * and the limits, `mailing.ts` the mails). No HTTP here: they throw domain errors, which each
 * HTTP entry answers through the one table of adapters/http/shared/problems.ts.
 *
 * ## Writes without transactions, and what happens when one fails
 *
 * A web submission writes, in this order:
 * 1. the open-request **claim** (subject hash + scope → new request id): the idempotency key;
 *    a claim that may not become a request (too many open scopes, mailbox budget spent, see
 *    "Abuse" below) is released at once and nothing else is written;
 * 2. the request with REQUEST_RECEIVED (status RECEIVED);
 * 3. VERIFICATION_SENT (→ AWAITING_VERIFICATION);
 * 4. the verification email.
 *
 * - (2) fails: the claim is released; nothing else exists.
 * - (3) or (4) fails: the request is **cancelled** (REQUEST_CANCELLED with the reason, plain id
 *   dropped) and the claim released, so no half-made request stays open; (4) answers 503 "try
 *   again". If that clean-up fails too, what is left heals itself: a claim whose request is
 *   missing (ids are time-ordered UUIDv7), final, or RECEIVED for longer than
 *   `staleClaimSeconds` is treated as stale by the next submission (released, the RECEIVED
 *   request cancelled); an AWAITING_VERIFICATION request without mail gets a fresh mail on the
 *   next submission once `resendAfterSeconds` passed, and otherwise the sweeper expires it (see
 *   `lastVerificationMailAt`).
 * - After verification (VERIFIED), a failure before QUEUED, or a failed workflow start after
 *   QUEUED, leaves the request VERIFIED/QUEUED: exactly what the sweeper restarts.
 *
 * ## Abuse: nobody can use the intake against a subject
 *
 * Anyone can type anyone's address, so limits that count submissions per address let a stranger
 * lock the owner out. Here only what costs something is limited, and the answer is the same
 * words whatever happened:
 * - per client (IPv4 address, IPv6 /64): submissions (`perClient`, 429);
 * - bot ids must be bots of the organisation (snapshot); unknown ones are refused (422) before
 *   anything is written, and without a bot list named bots are refused (503, fail-safe);
 * - a submission matching an open request creates nothing and counts against nothing; the
 *   reminder goes to the address stored with that request;
 * - per address, at most `openBotScopesPerAddress` open requests limited to some bots; a request
 *   for all bots is never refused a slot;
 * - per mailbox, mails are bounded as `mail-budget.ts` explains: the address's own all-bots
 *   request is paced (one mail per `resendAfterSeconds`) and never refused, everything else
 *   shares `perMailbox`.
 */
import { InvalidSubmissionError, VerificationMailFailedError } from '../domain/errors';
import { BotListUnavailableError, UnknownBotsError } from '../domain/errors';
import { assertTransition } from '../domain/lifecycle';
import type { ErasureRequest } from '../domain/model';
import { hashSubject, normaliseSubjectId } from '../domain/subject';
import { clientKeyOf } from './client-address';
import { VERIFY_LINK_TTL_SECONDS } from './links';
import { validateSubmission } from './schema';
import { enforceLimits, requireKnownBots, admitNewRequest, claimOrFind, abandon, releaseClaim, createClaimedRequest } from './admission';
import { IntakeDeps, SubmissionResult, INTAKE, limitsOf, errorName, scopeKeyOf, newRequestId, answer } from './intake-deps';
import { sendVerification, remindOfOpenRequest } from './mailing';

export const SUBMISSION_RESULT: SubmissionResult = Object.freeze({
  message:
    'Check your email. If this address can receive mail, a message is on its way to it: a link to confirm the request, ' +
    'or — when a request for it is already open — a link to that request’s status page. Nothing is erased until the request is confirmed.',
  linkValidMinutes: VERIFY_LINK_TTL_SECONDS / 60,
});

/**
 * A subject asks for erasure (web form or JSON). Validates, rate-limits the client, checks that
 * named bots exist, then either finds the open request of the same subject and scope (nothing is
 * created or counted; the stored address may get a reminder, see `remindOfOpenRequest`) or
 * creates a request awaiting verification and emails the link — unless the address already has
 * its open bot-limited requests or the mailbox's budget is spent, in which case nothing is
 * created. The answer is word for word the same in every one of these cases.
 * @throws InvalidSubmissionError, RateLimitedError (per-client limit), VerificationMailFailedError,
 *   UnknownBotsError, BotListUnavailableError; store/claim errors
 *   propagate (→ 500, nothing half-written stays open).
 */
export async function submitRequest(deps: IntakeDeps, input: unknown, client: { ip: string; userAgent?: string }): Promise<SubmissionResult> {
  const valid = validateSubmission(input);
  if (!valid.ok) throw new InvalidSubmissionError(valid.errors);
  const now = deps.clock.now();
  // Only the client counts per submission: nothing a stranger types can refuse an address.
  // The client's address is personal data too: the limiter only ever sees a keyed hash of it.
  await enforceLimits(deps, [{ key: `client:${hashSubject(`ip:${clientKeyOf(client.ip)}`, deps.subjectKeys.hmacKey)}`, rule: limitsOf(deps).perClient }], now);
  const botIds = valid.value.botIds;
  if (botIds.length > 0) await requireKnownBots(deps, botIds);

  const email = normaliseSubjectId(valid.value.email, 'email');
  const subjectHash = hashSubject(email, deps.subjectKeys.hmacKey);
  const scopeKey = scopeKeyOf(botIds);
  const requestId = newRequestId(now);
  const claim = await claimOrFind(deps, subjectHash, scopeKey, requestId, now);
  if (!claim.claimed) {
    // A request being created right now by a concurrent submission is on its way with its mail.
    if (claim.existing) await remindOfOpenRequest(deps, claim.existing, now);
    return SUBMISSION_RESULT;
  }
  const notAdmitted = await admitNewRequest(deps, { subjectHash, scopeKey, requestId, address: email }, now).catch(async (error: unknown) => {
    await releaseClaim(deps, subjectHash, scopeKey, requestId);
    throw error;
  });
  if (notAdmitted) {
    await releaseClaim(deps, subjectHash, scopeKey, requestId);
    deps.logger.info('submission created no request', { reason: notAdmitted });
    return SUBMISSION_RESULT;
  }

  const created = await createClaimedRequest(deps, { requestId, channel: 'web', subjectHash, subjectKind: 'email', plainId: email, botIds, scopeKey, actor: 'subject', now });

  let awaiting: ErasureRequest;
  try {
    // Built on the request just created: no read of what this call has just written.
    ({ request: awaiting } = await deps.store.appendEvent(
      requestId,
      (current) => {
        const transition = assertTransition(current.status, 'AWAITING_VERIFICATION');
        return {
          event: {
            type: transition.event,
            at: now.toISOString(),
            actor: INTAKE,
            attempt: current.attempt,
            status: 'AWAITING_VERIFICATION',
            details: { kind: 'verification', linkValidSeconds: VERIFY_LINK_TTL_SECONDS },
          },
        };
      },
      { current: created },
    ));
  } catch (error) {
    await abandon(deps, requestId, 'INTAKE_FAILED');
    throw error;
  }
  try {
    await sendVerification(deps, valid.value.email, awaiting, now);
  } catch (error) {
    deps.logger.error('verification mail failed', { requestId, errorName: errorName(error) });
    await abandon(deps, requestId, 'VERIFICATION_MAIL_FAILED');
    throw new VerificationMailFailedError();
  }
  return SUBMISSION_RESULT;
}
