/** Use case: the subject opens the emailed link (preview) and confirms it (verify). */
import { IllegalTransitionError } from '../domain/errors';
import { assertTransition } from '../domain/lifecycle';
import type { RequestStatus } from '../domain/model';
import { decryptSubjectId } from '../domain/subject';
import { statusUrlFor, verifyVerifyToken } from './links';
import { decideAndQueue } from './decide-and-queue';
import { IntakeDeps, answer } from './intake-deps';
import { LinkInvalidError, LinkUsedError, RequestClosedError } from '../domain/errors';

/** The verification link's token checked (signature, purpose, expiry); nothing is consumed. */
export async function checkVerifyLink(deps: IntakeDeps, token: string | undefined, now: Date): Promise<Awaited<ReturnType<typeof verifyVerifyToken>>> {
  return verifyVerifyToken(deps.linkKey, token ?? '', now);
}

/** What opening a verification link shows, before anything happens. */
export type VerificationPreview =
  | { state: 'confirm'; requestId: string; scope: { allBots: boolean; botIds: string[] } }
  | { state: 'done'; statusUrl: string };

/**
 * The subject (or a mail scanner fetching every link) opened the emailed link: `GET /verify` only
 * looks. It checks the link like `verifyRequest` but consumes nothing and records nothing, so a
 * scanner's fetch can never confirm an erasure the address's owner did not ask for; the person
 * confirms with the page's button (`POST /verify`). A request already past verification just
 * leads to its status page.
 * @throws LinkInvalidError, LinkExpiredError, RequestClosedError.
 */
export async function previewVerification(deps: IntakeDeps, token: string | undefined): Promise<VerificationPreview> {
  const now = deps.clock.now();
  const link = await checkVerifyLink(deps, token, now);
  const request = await deps.store.getRequest(link.requestId);
  if (!request || request.status === 'RECEIVED') throw new LinkInvalidError();
  if (request.status === 'EXPIRED' || request.status === 'CANCELLED') throw new RequestClosedError();
  if (request.status !== 'AWAITING_VERIFICATION') return { state: 'done', statusUrl: await statusUrlFor(deps.publicBaseUrl, deps.linkKey, request.requestId, now) };
  return { state: 'confirm', requestId: request.requestId, scope: { allBots: request.scope.botIds.length === 0, botIds: [...request.scope.botIds] } };
}

/**
 * The subject confirmed with the button of the page the emailed link opened (`POST /verify`):
 * checks the link (signature, purpose, expiry, single use), records IDENTITY_VERIFIED, then
 * checks eligibility and queues the erasure or rejects.
 * A link of a request already past verification (e.g. a second, re-sent link) just leads to
 * the status page.
 * @throws LinkInvalidError, LinkExpiredError, LinkUsedError, RequestClosedError;
 *   IllegalTransitionError (→ 409) when the request moved on concurrently in an unexpected way.
 */
export async function verifyRequest(deps: IntakeDeps, token: string | undefined): Promise<{ requestId: string; status: RequestStatus; statusUrl: string }> {
  const now = deps.clock.now();
  const link = await checkVerifyLink(deps, token, now);
  const firstUse = await deps.tokens.consumeToken(link.jti, link.expiresAt);

  const request = await deps.store.getRequest(link.requestId);
  // A used link whose request still awaits verification: the earlier use never took effect (the
  // process died between consuming the link and recording the verification), so this one counts.
  // The lifecycle still lets the request be verified only once.
  if (!firstUse && request?.status !== 'AWAITING_VERIFICATION') throw new LinkUsedError();
  if (!request) throw new LinkInvalidError();
  if (request.status === 'EXPIRED' || request.status === 'CANCELLED') throw new RequestClosedError();
  if (request.status !== 'AWAITING_VERIFICATION') {
    if (request.status === 'RECEIVED') throw new LinkInvalidError();
    return answer(deps, request.requestId, request.status, now);
  }

  const { request: verified } = await deps.store.appendEvent(request.requestId, (current) => {
    // RECEIVED → VERIFIED is legal for staff only: a link needs AWAITING_VERIFICATION.
    if (current.status !== 'AWAITING_VERIFICATION') {
      // A second use racing the first (a double click): the first one verified the request.
      if (!firstUse) throw new LinkUsedError();
      throw new IllegalTransitionError(current.status, 'VERIFIED');
    }
    const transition = assertTransition(current.status, 'VERIFIED');
    return {
      event: { type: transition.event, at: now.toISOString(), actor: 'subject', attempt: current.attempt, status: 'VERIFIED', details: { method: 'email-link' } },
    };
  });
  const to = verified.subjectCipher ? decryptSubjectId(verified.subjectCipher, deps.subjectKeys.cipherKey) : undefined;
  const outcome = await decideAndQueue(deps, verified, to);
  return answer(deps, verified.requestId, outcome.request.status, now);
}
