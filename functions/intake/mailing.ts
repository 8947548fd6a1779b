/** The intake's mails: the verification link, its re-send, the reminder of an open request, notices; each recorded as an event. */
import { isFinal } from '../domain/lifecycle';
import type { ErasureRequest, JsonValue } from '../domain/model';
import { createVerifyToken, statusUrlFor, verifyUrlFor, VERIFY_LINK_TTL_SECONDS } from './links';
import { composeNotice, type NoticeKind } from './notices';
import { takeMailBudget, storedAddress } from './admission';
import { IntakeDeps, INTAKE, limitsOf, siteOf, errorName, lastVerificationMailAt, answer } from './intake-deps';

/** Records that a notice went out (kind only; never the address or the text). */
export async function recordNotice(deps: IntakeDeps, requestId: string, kind: string, extra: { [key: string]: JsonValue } = {}): Promise<void> {
  await deps.store.appendEvent(requestId, (current) => ({
    event: { type: 'NOTICE_SENT', at: deps.clock.now().toISOString(), actor: INTAKE, attempt: current.attempt, status: current.status, details: { kind, ...extra } },
  }));
}

/** Sends a notice and records it; a failure is logged, not thrown (the status page tells the same). */
export async function notify(deps: IntakeDeps, to: string, kind: NoticeKind, mailKind: string, request: ErasureRequest, extra: Partial<Parameters<typeof composeNotice>[1]> = {}): Promise<void> {
  try {
    const statusUrl = await statusUrlFor(deps.publicBaseUrl, deps.linkKey, request.requestId, deps.clock.now());
    const notice = composeNotice(kind, { requestId: request.requestId, statusUrl, dueAt: request.dueAt, site: siteOf(deps), ...extra });
    await deps.mailer.send({ to, subject: notice.subject, text: notice.text, html: notice.html, kind: mailKind, requestId: request.requestId });
    await recordNotice(deps, request.requestId, mailKind);
  } catch (error) {
    deps.logger.error('notice not sent', { requestId: request.requestId, kind: mailKind, errorName: errorName(error) });
  }
}

export async function sendVerification(deps: IntakeDeps, to: string, request: ErasureRequest, now: Date): Promise<void> {
  const link = await createVerifyToken(deps.linkKey, request.requestId, now);
  const statusUrl = await statusUrlFor(deps.publicBaseUrl, deps.linkKey, request.requestId, now);
  const notice = composeNotice('verify', {
    requestId: request.requestId,
    statusUrl,
    verifyUrl: verifyUrlFor(deps.publicBaseUrl, link.token),
    linkValidMinutes: VERIFY_LINK_TTL_SECONDS / 60,
    site: siteOf(deps),
  });
  await deps.mailer.send({ to, subject: notice.subject, text: notice.text, html: notice.html, kind: 'verification', requestId: request.requestId });
}

export class ResendNotNeeded extends Error {
  override name = 'ResendNotNeeded';
}

/**
 * Re-sends the verification email of an open request when the last one is older than
 * `resendAfterSeconds` and the mailbox's budget allows it (always, for the address's own
 * all-bots request). Single winner among concurrent resubmissions: the NOTICE_SENT event is
 * appended only if nothing was appended since the timeline was read. `to` is the stored address.
 */
export async function maybeResendVerification(deps: IntakeDeps, request: ErasureRequest, to: string, now: Date): Promise<void> {
  if (request.status !== 'AWAITING_VERIFICATION') return;
  const timeline = await deps.store.getTimeline(request.requestId);
  const last = lastVerificationMailAt(timeline);
  const head = timeline.at(-1);
  if (!head || (last && now.getTime() - last.getTime() < limitsOf(deps).resendAfterSeconds * 1000)) return;
  if (!(await takeMailBudget(deps, to, request.scopeKey, now))) {
    deps.logger.info('verification mail not re-sent: mailbox budget spent', { requestId: request.requestId });
    return;
  }
  try {
    await deps.store.appendEvent(request.requestId, (current) => {
      if (current.lastSeq !== head.seq || current.status !== 'AWAITING_VERIFICATION') throw new ResendNotNeeded();
      return {
        event: { type: 'NOTICE_SENT', at: now.toISOString(), actor: INTAKE, attempt: current.attempt, status: current.status, details: { kind: 'verification', resend: true } },
      };
    });
  } catch (error) {
    if (error instanceof ResendNotNeeded) return;
    throw error;
  }
  await sendVerification(deps, to, request, now);
}

/**
 * A submission found the open request of the same address and bots. The person asking again
 * gets what they most likely lost, by email only and at the address stored with the request: the
 * confirmation link again while the request awaits it (`maybeResendVerification`), otherwise a
 * link to its status page — at most one such mail per request every `resendAfterSeconds`,
 * whoever asks and however often, and within the mailbox's budget (`mail-budget.ts`). Such a
 * submission counts against nothing else. A mail that fails is logged and not retried: the
 * answer must look the same either way.
 */
export async function remindOfOpenRequest(deps: IntakeDeps, request: ErasureRequest, now: Date): Promise<void> {
  const to = storedAddress(deps, request);
  if (!to) return;
  if (request.status === 'AWAITING_VERIFICATION') {
    try {
      await maybeResendVerification(deps, request, to, now);
    } catch (error) {
      deps.logger.error('verification mail not re-sent', { requestId: request.requestId, errorName: errorName(error) });
    }
    return;
  }
  if (request.status === 'RECEIVED' || isFinal(request.status)) return;
  const window = limitsOf(deps).resendAfterSeconds;
  const { allowed } = await deps.rateLimiter.hit(`already-open-mail:${request.requestId}`, window, 1, now);
  if (allowed && (await takeMailBudget(deps, to, request.scopeKey, now))) await notify(deps, to, 'already-open', 'already-open', request);
}
