/** Use case: the subject's status page (the request, its timeline in plain words, the receipt when completed). */
import { explainRejection } from '../domain/eligibility';
import type { AuditEvent, RequestStatus } from '../domain/model';
import { readStatusToken, statusLinkOpen } from './links';
import { receiptFor } from './receipts';
import type { VerificationOutcome } from '../domain/verification';
import { IntakeDeps, RejectionRule } from './intake-deps';
import { StatusNotFoundError } from '../domain/errors';

/** One line of the subject's timeline: plain words only, no internals. */
export interface TimelineEntry {
  at: string;
  title: string;
  text?: string;
  tone: 'done' | 'info' | 'problem';
}

/** What the status page shows (also its JSON form). */
export interface StatusView {
  requestId: string;
  status: RequestStatus;
  /** The status in plain words. */
  summary: string;
  receivedAt: string;
  dueAt: string;
  extended?: { reason: string };
  scope: { allBots: boolean; botIds: string[] };
  timeline: TimelineEntry[];
  rejection?: { rule: RejectionRule; botIds: string[]; title: string; whatToDo: string };
  /** The signed erasure receipt (compact JWS), once COMPLETED. */
  receipt?: string;
  /** What reading the platform back after the erasure found, once COMPLETED and chosen for it. */
  verification?: { outcome: VerificationOutcome | 'pending'; summary: string };
}

/** How the subject reads a verification outcome. */
export const VERIFICATION_SUMMARIES: Record<VerificationOutcome | 'pending', string> = {
  pending: 'We will check the platform shortly to confirm that your conversations are gone.',
  verified: 'We checked the platform after the erasure: none of your conversations remain.',
  'data-found': 'The platform reported the erasure done, but we found some of your conversations still there; our staff are erasing them again.',
  'not-verified': 'The platform confirmed the erasure; we could not check it independently.',
};

export const SUMMARIES: Record<RequestStatus, string> = {
  RECEIVED: 'We have received your request.',
  AWAITING_VERIFICATION: 'Check your email: open the link we sent you to confirm the request.',
  VERIFIED: 'Your request is confirmed; the erasure is about to start.',
  QUEUED: 'Your request is confirmed; the erasure is about to start.',
  SUBMITTED: 'The erasure is under way.',
  IN_PROGRESS: 'The erasure is under way.',
  COMPLETED: 'Your data has been erased.',
  FAILED: 'The erasure did not succeed yet; our staff are looking into it.',
  TIMED_OUT: 'The platform has not confirmed the erasure yet; our staff are following it up.',
  REJECTED: 'We cannot erase your data yet — see below for why and what you can do.',
  CANCELLED: 'This request was cancelled.',
  EXPIRED: 'This request lapsed because it was not confirmed in time.',
};

/** How each subject-facing event reads on the status page; events not listed stay internal. */
export const SUBJECT_ENTRIES: Partial<Record<AuditEvent['type'], (e: AuditEvent) => Omit<TimelineEntry, 'at'>>> = {
  REQUEST_RECEIVED: () => ({ title: 'Request received', tone: 'done' }),
  VERIFICATION_SENT: () => ({ title: 'Confirmation email sent', text: 'Open the link in it to confirm that the request is yours.', tone: 'info' }),
  IDENTITY_VERIFIED: (e) => ({ title: 'Request confirmed', text: e.actor === 'subject' ? 'You confirmed your email address.' : 'Our staff checked your identity.', tone: 'done' }),
  ERASURE_QUEUED: () => ({ title: 'Erasure scheduled', tone: 'info' }),
  RETRY_REQUESTED: () => ({ title: 'Erasure scheduled again', tone: 'info' }),
  RECHECK_REQUESTED: () => ({ title: 'Erasure scheduled again', tone: 'info' }),
  ERASURE_SUBMITTED: () => ({ title: 'Erasure sent to the platform', tone: 'done' }),
  STATUS_CHECKED: () => ({ title: 'Erasure in progress', tone: 'info' }),
  ERASURE_COMPLETED: () => ({ title: 'Erasure completed', text: 'Your receipt is below.', tone: 'done' }),
  ERASURE_FAILED: () => ({ title: 'Erasure not finished', text: 'Our staff have been told and will try again.', tone: 'problem' }),
  ERASURE_TIMED_OUT: () => ({ title: 'No confirmation from the platform in time', text: 'Our staff are following it up.', tone: 'problem' }),
  REQUEST_REJECTED: () => ({ title: 'We cannot erase your data yet', text: 'See the explanation below.', tone: 'problem' }),
  REQUEST_CANCELLED: () => ({ title: 'Request cancelled', tone: 'problem' }),
  REQUEST_EXPIRED: () => ({ title: 'Request lapsed', text: 'It was not confirmed in time. You can submit it again.', tone: 'problem' }),
  DEADLINE_EXTENDED: () => ({ title: 'Deadline extended', text: 'We told you why by email; the new date is shown above.', tone: 'info' }),
  ERASURE_VERIFIED: (e) =>
    e.details.outcome === 'verified'
      ? { title: 'Erasure verified', text: VERIFICATION_SUMMARIES.verified, tone: 'done' }
      : e.details.outcome === 'data-found'
        ? { title: 'Some data still found', text: 'Our staff are erasing it again.', tone: 'problem' }
        : { title: 'Erasure not independently verified', text: VERIFICATION_SUMMARIES['not-verified'], tone: 'info' },
};

/** Events that (re)start an attempt: the next "in progress" status check is shown again. */
export const ATTEMPT_STARTS: ReadonlySet<AuditEvent['type']> = new Set(['ERASURE_QUEUED', 'RETRY_REQUESTED', 'RECHECK_REQUESTED']);

/**
 * The subject-safe timeline: the steps a person cares about, in plain words. Of an attempt's many
 * status checks only the first one that finds the job in progress is shown.
 */
export function subjectTimeline(events: readonly AuditEvent[]): TimelineEntry[] {
  const out: TimelineEntry[] = [];
  let inProgressShown = false;
  for (const e of events) {
    if (ATTEMPT_STARTS.has(e.type)) inProgressShown = false;
    if (e.type === 'STATUS_CHECKED') {
      const first = !inProgressShown && e.status === 'IN_PROGRESS';
      inProgressShown = true;
      if (!first) continue;
    }
    const entry = SUBJECT_ENTRIES[e.type];
    if (entry) out.push({ at: e.at, ...entry(e) });
  }
  return out;
}

/**
 * The status of one request for whoever holds its status token. A missing or wrong token, an
 * unknown id, a link ops revoked and a link of a request that ended more than
 * `STATUS_LINK_RETENTION_DAYS` ago all give the same 404, so the page is no oracle for which ids
 * exist or what became of them.
 * @throws StatusNotFoundError for an unknown id, a wrong, revoked or outlived token alike.
 */
export async function getStatus(deps: IntakeDeps, requestId: string, statusToken: string | undefined): Promise<StatusView> {
  const now = deps.clock.now();
  const link = /^[A-Za-z0-9_-]{1,64}$/.test(requestId) ? await readStatusToken(deps.linkKey, statusToken, requestId, now) : undefined;
  if (!link) throw new StatusNotFoundError();
  const request = await deps.store.getRequest(requestId);
  if (!request) throw new StatusNotFoundError();
  const timeline = await deps.store.getTimeline(requestId);
  if (!statusLinkOpen(timeline, link.issuedAt, now)) throw new StatusNotFoundError();
  const receipt = await receiptFor(deps.signer, request, timeline);
  const rejection =
    request.status === 'REJECTED' && request.rejection
      ? { rule: request.rejection.rule, botIds: [...request.rejection.botIds], ...explainRejection(request.rejection.rule, request.rejection.botIds) }
      : undefined;
  const stage = request.status === 'COMPLETED' ? request.verification?.stage : undefined;
  const outcome = stage === 'pending' || stage === 'recheck' ? 'pending' : stage;
  return {
    requestId,
    status: request.status,
    summary: SUMMARIES[request.status],
    receivedAt: request.receivedAt,
    dueAt: request.dueAt,
    ...(request.extended ? { extended: { reason: request.extended.reason } } : {}),
    scope: { allBots: request.scope.botIds.length === 0, botIds: [...request.scope.botIds] },
    timeline: subjectTimeline(timeline),
    ...(rejection ? { rejection } : {}),
    ...(receipt ? { receipt } : {}),
    ...(outcome ? { verification: { outcome, summary: VERIFICATION_SUMMARIES[outcome] } } : {}),
  };
}
