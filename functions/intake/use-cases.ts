/**
 * The intake use cases: what happens when a subject submits, confirms the emailed link and looks
 * at the status page, and when staff submit on a subject's behalf. Plain functions over the
 * domain ports (store, claims, tokens, limits, mail, snapshot, workflow, signer); no HTTP here
 * apart from the `HttpProblem`s they throw for the caller to answer.
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
import { randomBytes } from 'node:crypto';
import { HttpProblem, problem, type Problem } from '../adapters/http/shared/problem';
import { SnapshotExpiredError } from '../domain/errors';
import type { NoticeSender } from '../workflow/erasure-tasks';
import { queueErasure } from '../workflow/queue-erasure';
import { dueAtFor } from '../domain/deadlines';
import { decideEligibility, explainRejection } from '../domain/eligibility';
import { BotListUnavailableError, IllegalTransitionError, UnknownBotsError } from '../domain/errors';
import { assertTransition, isFinal } from '../domain/lifecycle';
import type { Actor, AuditEvent, EligibilityRule, ErasureRequest, JsonValue, RequestStatus, SubjectKind } from '../domain/model';
import type {
  AuditStore,
  BotCatalogue,
  Clock,
  Mailer,
  OpenRequestClaims,
  RateLimiter,
  Signer,
  SingleUseTokens,
  SnapshotReader,
  WorkflowStarter,
} from '../domain/ports';
import { decryptSubjectId, detectSubjectKind, encryptSubjectId, hashSubject, normaliseSubjectId, type SubjectKeys } from '../domain/subject';
import { clientKeyOf } from './client-address';
import { mailBudgetOf } from './mail-budget';
import {
  createVerifyToken,
  LinkExpiredError,
  LinkInvalidError,
  readStatusToken,
  statusLinkOpen,
  statusUrlFor,
  verifyUrlFor,
  verifyVerifyToken,
  VERIFY_LINK_TTL_SECONDS,
} from './links';
import { composeNotice, DEFAULT_SITE, type NoticeKind, type SiteInfo } from './notices';
import { receiptFor } from './receipts';
import { validateOnBehalf, validateSubmission } from './schema';
import { validationProblem } from '../adapters/http/shared/messages';

export { composeNotice } from './notices';
export type { Notice, NoticeContext, NoticeKind, SiteInfo } from './notices';

/** Limits of the intake; every one can be overridden in the deps. */
export interface IntakeLimits {
  /**
   * Mails a public submission may cause per mailbox (lower-cased, `+tag` removed), except those
   * about the address's own all-bots request, which are paced instead (see `mail-budget.ts`).
   */
  perMailbox: { limit: number; windowSeconds: number };
  /** Open requests limited to some bots, per address; a request for all bots never needs a slot. */
  openBotScopesPerAddress: number;
  /** Submissions per client: an IPv4 address, or an IPv6 /64 (see `client-address.ts`). */
  perClient: { limit: number; windowSeconds: number };
  /** A resubmission re-sends the verification email only when the last one is older than this. */
  resendAfterSeconds: number;
  /** A claim whose request is missing or still RECEIVED after this long is left over from a failure. */
  staleClaimSeconds: number;
}

export const DEFAULT_LIMITS: IntakeLimits = {
  // Room for a few genuine asks an hour (a request limited to some bots, a reminder of it, a
  // +tag address) while the mailbox's owner never depends on it: their all-bots request is paced.
  perMailbox: { limit: 4, windowSeconds: 3600 },
  // One bot-limited request can name 20 bots, so a person rarely needs a second one open; 3
  // leaves room for follow-ups while bounding what one address can hold open (each one a mail).
  openBotScopesPerAddress: 3,
  perClient: { limit: 30, windowSeconds: 600 },
  resendAfterSeconds: 600,
  staleClaimSeconds: 120,
};

/** Everything the use cases need: ports and configuration. */
export interface IntakeDeps {
  store: AuditStore;
  claims: OpenRequestClaims;
  tokens: SingleUseTokens;
  rateLimiter: RateLimiter;
  mailer: Mailer;
  signer: Signer;
  /** The roles snapshot: eligibility lookups, and the account's bots (submitted bot ids must be among them). */
  snapshots: SnapshotReader & BotCatalogue;
  workflow: WorkflowStarter;
  clock: Clock;
  subjectKeys: SubjectKeys;
  /** ≥ 32 bytes; signs verification links, status tokens and CSRF tokens. */
  linkKey: Uint8Array;
  /** Where the public site is reached, without a trailing slash, e.g. `https://erase.example.com`. */
  publicBaseUrl: string;
  limits?: Partial<IntakeLimits>;
  site?: Partial<SiteInfo>;
  /** A structured log line; gets ids, statuses and error names only. Defaults to stdout JSON. */
  log?: (entry: Record<string, unknown>) => void;
  /** Paths of the other APIs (staff), merged into `GET /openapi.json`. */
  extraOpenApiPaths?: Record<string, unknown>;
}

/**
 * What a subject's submission answers, word for word the same whether it created a request or
 * found an open one: the answer must not tell whoever typed an address that the address has a
 * request, nor how far it got. The status link travels by email only.
 */
export type SubmissionResult = {
  message: string;
  /** How long the emailed confirmation link works. */
  linkValidMinutes: number;
};

/** What staff get for a request: its id, status and the status link to pass on. */
export type RequestReference = {
  requestId: string;
  status: RequestStatus;
  statusUrl: string;
};

const SUBMISSION_RESULT: SubmissionResult = Object.freeze({
  message:
    'Check your email. If this address can receive mail, a message is on its way to it: a link to confirm the request, ' +
    'or — when a request for it is already open — a link to that request’s status page. Nothing is erased until the request is confirmed.',
  linkValidMinutes: VERIFY_LINK_TTL_SECONDS / 60,
});

const INTAKE: Actor = 'system:intake';

/** A rejection's rule: one of the owner/co-developer rules, or the platform's own refusal. */
export type RejectionRule = NonNullable<ErasureRequest['rejection']>['rule'];

function limitsOf(deps: Pick<IntakeDeps, 'limits'>): IntakeLimits {
  return { ...DEFAULT_LIMITS, ...deps.limits };
}

/** What the "check your email" page tells a subject: how long the link works, when to ask again. */
export function checkEmailFacts(deps: Pick<IntakeDeps, 'limits'>): { linkValidMinutes: number; resendAfterMinutes: number } {
  return { linkValidMinutes: VERIFY_LINK_TTL_SECONDS / 60, resendAfterMinutes: Math.ceil(limitsOf(deps).resendAfterSeconds / 60) };
}

export function siteOf(deps: Pick<IntakeDeps, 'site'>): SiteInfo {
  return { ...DEFAULT_SITE, ...deps.site };
}

function logOf(deps: IntakeDeps): (entry: Record<string, unknown>) => void {
  return deps.log ?? ((entry) => console.log(JSON.stringify(entry)));
}

const errorName = (error: unknown) => (error instanceof Error ? error.name : typeof error);

/** `*` for all bots, else the sorted, unique bot ids joined by `,`. */
export function scopeKeyOf(botIds: readonly string[]): string {
  return botIds.length === 0 ? '*' : [...new Set(botIds)].sort().join(',');
}

/**
 * A new request id: a UUIDv7 (48-bit millisecond time, then randomness), so ids sort by time
 * and a left-over claim can tell how old its request id is.
 */
export function newRequestId(now: Date): string {
  const bytes = randomBytes(16);
  let ms = BigInt(now.getTime());
  for (let i = 5; i >= 0; i--) {
    bytes[i] = Number(ms & 0xffn);
    ms >>= 8n;
  }
  bytes[6] = 0x70 | (bytes[6]! & 0x0f);
  bytes[8] = 0x80 | (bytes[8]! & 0x3f);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The creation time of a UUIDv7 request id, or undefined for ids of another form. */
export function requestIdTime(requestId: string): Date | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(requestId)) return undefined;
  return new Date(parseInt(requestId.replace(/-/g, '').slice(0, 12), 16));
}

/**
 * When the newest verification email of a request was sent (VERIFICATION_SENT, or a re-send
 * recorded as NOTICE_SENT kind `verification`): its link works until then + 30 minutes, so the
 * sweeper expires AWAITING_VERIFICATION requests only after that.
 */
export function lastVerificationMailAt(timeline: readonly AuditEvent[]): Date | undefined {
  for (let i = timeline.length - 1; i >= 0; i--) {
    const e = timeline[i]!;
    if (e.type === 'VERIFICATION_SENT' || (e.type === 'NOTICE_SENT' && e.details.kind === 'verification')) return new Date(e.at);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Problems

export const NOT_FOUND_PROBLEM: Problem = problem(404, 'not-found', 'No such request', 'Check that you copied the whole link.');

function rateLimited(retryAfterSeconds: number): HttpProblem {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
  return new HttpProblem(
    problem(429, 'rate-limited', 'Too many requests', `Please wait ${Math.ceil(seconds / 60)} minute(s) and try again.`, { retryAfterSeconds: seconds }),
    { 'retry-after': String(seconds) },
  );
}

export const LINK_EXPIRED_PROBLEM = problem(410, 'link-expired', 'This link has expired', 'Confirmation links work for 30 minutes. Please submit your request again; we will send a new link.');
export const LINK_USED_PROBLEM = problem(410, 'link-used', 'This link has already been used', 'Each confirmation link works once. Use the status link from your email to follow your request.');
export const LINK_INVALID_PROBLEM = problem(400, 'link-invalid', 'This link is not valid', 'Open the link exactly as it appears in the email, or submit your request again.');
export const REQUEST_CLOSED_PROBLEM = problem(410, 'request-closed', 'This request is closed', 'The request was not confirmed in time or was cancelled. Please submit your request again.');
export const MAIL_FAILED_PROBLEM = problem(503, 'mail-failed', 'We could not send the confirmation email', 'Nothing was stored. Please try again in a few minutes.');

// ---------------------------------------------------------------------------------------------
// Shared steps

/**
 * Counts one hit against every rule at once (one round trip, not one per rule) and refuses with
 * the first rule that is exceeded.
 */
async function enforceLimits(deps: IntakeDeps, hits: readonly { key: string; rule: { limit: number; windowSeconds: number } }[], now: Date): Promise<void> {
  const results = await Promise.all(hits.map(({ key, rule }) => deps.rateLimiter.hit(key, rule.windowSeconds, rule.limit, now)));
  const refused = results.find((r) => !r.allowed);
  if (refused) throw rateLimited(refused.retryAfterSeconds);
}

/**
 * Refuses bot ids the organisation does not have, so made-up ids cannot open requests.
 * @throws UnknownBotsError naming the unknown ids; BotListUnavailableError when there is no
 *   snapshot, the snapshot has no bot list, or it is past its retention (fail-safe).
 */
async function requireKnownBots(deps: IntakeDeps, botIds: readonly string[]): Promise<void> {
  const snapshot = await deps.snapshots.getCurrentSnapshot();
  if (!snapshot || snapshot.botCount === undefined) throw new BotListUnavailableError();
  let known: Set<string>;
  try {
    known = await deps.snapshots.knownBots(snapshot, botIds);
  } catch (error) {
    if (error instanceof SnapshotExpiredError) throw new BotListUnavailableError({ cause: error });
    throw error;
  }
  const unknown = botIds.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UnknownBotsError(unknown);
}

/**
 * Takes one mail from the budget a mail to `address` about a request of `scopeKey` draws on
 * (`mail-budget.ts`): always granted for the address's own all-bots request (paced elsewhere),
 * else one hit of the mailbox's counter. The mailbox is keyed by its HMAC, never stored plain.
 */
async function takeMailBudget(deps: IntakeDeps, address: string, scopeKey: string, now: Date): Promise<boolean> {
  const budget = mailBudgetOf(address, scopeKey);
  if (budget.kind === 'paced') return true;
  const { limit, windowSeconds } = limitsOf(deps).perMailbox;
  const key = `mailbox:${hashSubject(`mailbox:${budget.mailbox}`, deps.subjectKeys.hmacKey)}`;
  return (await deps.rateLimiter.hit(key, windowSeconds, limit, now)).allowed;
}

/** Why a submission that claimed a new scope may not become a request (it answers the same). */
type NotAdmitted = 'OPEN_BOT_SCOPES_CAP' | 'MAILBOX_BUDGET';

/**
 * Whether a new request may be created for an address and scope the caller has just claimed:
 * a bot-limited scope needs a free slot among the address's open bot-limited requests, and the
 * verification mail needs the mailbox's budget. All-bots requests never need a slot.
 */
async function admitNewRequest(deps: IntakeDeps, r: { subjectHash: string; scopeKey: string; requestId: string; address: string }, now: Date): Promise<NotAdmitted | undefined> {
  if (r.scopeKey !== '*') {
    const open = (await deps.store.findBySubjectHash(r.subjectHash)).filter((x) => x.requestId !== r.requestId && x.scopeKey !== '*' && !isFinal(x.status));
    if (open.length >= limitsOf(deps).openBotScopesPerAddress) return 'OPEN_BOT_SCOPES_CAP';
  }
  return (await takeMailBudget(deps, r.address, r.scopeKey, now)) ? undefined : 'MAILBOX_BUDGET';
}

/**
 * The address stored with a request (decrypted), where every mail about it goes — not whatever
 * spelling the latest submission used. Undefined for subjects known by enterprise id, for
 * requests whose plain id is already dropped, and when decryption fails (logged by id).
 */
function storedAddress(deps: IntakeDeps, request: ErasureRequest): string | undefined {
  if (request.subjectKind !== 'email' || !request.subjectCipher) return undefined;
  try {
    return decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey);
  } catch (error) {
    logOf(deps)({ level: 'error', message: 'stored address unreadable', requestId: request.requestId, errorName: errorName(error) });
    return undefined;
  }
}

/** A claim that cannot be serving an open request any more (see the module comment). */
async function isStaleClaim(deps: IntakeDeps, existingId: string, existing: ErasureRequest | undefined, now: Date): Promise<boolean> {
  const staleMs = limitsOf(deps).staleClaimSeconds * 1000;
  if (!existing) {
    const created = requestIdTime(existingId);
    return created !== undefined && now.getTime() - created.getTime() > staleMs;
  }
  if (isFinal(existing.status)) return true;
  if (existing.status === 'RECEIVED' && now.getTime() - Date.parse(existing.receivedAt) > staleMs) {
    await abandon(deps, existing.requestId, 'INTAKE_INCOMPLETE', { release: false });
    return true;
  }
  return false;
}

type ClaimOutcome = { claimed: true } | { claimed: false; existingId: string; existing: ErasureRequest | undefined };

/** Claims the subject+scope for `requestId`, or finds the open request holding it (clearing one stale claim). */
async function claimOrFind(deps: IntakeDeps, subjectHash: string, scopeKey: string, requestId: string, now: Date): Promise<ClaimOutcome> {
  for (let round = 0; ; round++) {
    const claim = await deps.claims.claimOpenRequest(subjectHash, scopeKey, requestId);
    if (claim.claimed) return { claimed: true };
    const existing = await deps.store.getRequest(claim.existingRequestId);
    if (round > 0 || !(await isStaleClaim(deps, claim.existingRequestId, existing, now))) {
      return { claimed: false, existingId: claim.existingRequestId, existing };
    }
    await deps.claims.releaseOpenRequest(subjectHash, scopeKey, claim.existingRequestId);
  }
}

/**
 * Cancels a request the intake could not finish (dropping the plain id) and releases its claim.
 * Best effort: failures are logged, the module comment says what heals what is left.
 */
async function abandon(deps: IntakeDeps, requestId: string, reason: string, options: { release: boolean } = { release: true }): Promise<void> {
  const log = logOf(deps);
  let request: ErasureRequest | undefined;
  try {
    ({ request } = await deps.store.appendEvent(requestId, (current) => {
      assertTransition(current.status, 'CANCELLED');
      return {
        event: { type: 'REQUEST_CANCELLED', at: deps.clock.now().toISOString(), actor: INTAKE, attempt: current.attempt, status: 'CANCELLED', details: { reason } },
        patch: { subjectCipher: null },
      };
    }));
  } catch (error) {
    log({ level: 'error', message: 'intake clean-up could not cancel the request', requestId, reason, errorName: errorName(error) });
  }
  if (!options.release) return;
  try {
    request ??= await deps.store.getRequest(requestId);
    if (request) await deps.claims.releaseOpenRequest(request.subjectHash, request.scopeKey, requestId);
  } catch (error) {
    log({ level: 'error', message: 'intake clean-up could not release the claim', requestId, errorName: errorName(error) });
  }
}

/** Releases a claim this call made; a failure is logged (the claim goes stale, see the module comment). */
async function releaseClaim(deps: IntakeDeps, subjectHash: string, scopeKey: string, requestId: string): Promise<void> {
  await deps.claims.releaseOpenRequest(subjectHash, scopeKey, requestId).catch((e: unknown) =>
    logOf(deps)({ level: 'error', message: 'intake clean-up could not release the claim', requestId, errorName: errorName(e) }),
  );
}

/** Records that a notice went out (kind only; never the address or the text). */
async function recordNotice(deps: IntakeDeps, requestId: string, kind: string, extra: { [key: string]: JsonValue } = {}): Promise<void> {
  await deps.store.appendEvent(requestId, (current) => ({
    event: { type: 'NOTICE_SENT', at: deps.clock.now().toISOString(), actor: INTAKE, attempt: current.attempt, status: current.status, details: { kind, ...extra } },
  }));
}

/** Sends a notice and records it; a failure is logged, not thrown (the status page tells the same). */
async function notify(deps: IntakeDeps, to: string, kind: NoticeKind, mailKind: string, request: ErasureRequest, extra: Partial<Parameters<typeof composeNotice>[1]> = {}): Promise<void> {
  try {
    const statusUrl = await statusUrlFor(deps.publicBaseUrl, deps.linkKey, request.requestId, deps.clock.now());
    const notice = composeNotice(kind, { requestId: request.requestId, statusUrl, dueAt: request.dueAt, site: siteOf(deps), ...extra });
    await deps.mailer.send({ to, subject: notice.subject, text: notice.text, html: notice.html, kind: mailKind, requestId: request.requestId });
    await recordNotice(deps, request.requestId, mailKind);
  } catch (error) {
    logOf(deps)({ level: 'error', message: 'notice not sent', requestId: request.requestId, kind: mailKind, errorName: errorName(error) });
  }
}

async function sendVerification(deps: IntakeDeps, to: string, request: ErasureRequest, now: Date): Promise<void> {
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

class ResendNotNeeded extends Error {
  override name = 'ResendNotNeeded';
}

/**
 * Re-sends the verification email of an open request when the last one is older than
 * `resendAfterSeconds` and the mailbox's budget allows it (always, for the address's own
 * all-bots request). Single winner among concurrent resubmissions: the NOTICE_SENT event is
 * appended only if nothing was appended since the timeline was read. `to` is the stored address.
 */
async function maybeResendVerification(deps: IntakeDeps, request: ErasureRequest, to: string, now: Date): Promise<void> {
  if (request.status !== 'AWAITING_VERIFICATION') return;
  const timeline = await deps.store.getTimeline(request.requestId);
  const last = lastVerificationMailAt(timeline);
  const head = timeline.at(-1);
  if (!head || (last && now.getTime() - last.getTime() < limitsOf(deps).resendAfterSeconds * 1000)) return;
  if (!(await takeMailBudget(deps, to, request.scopeKey, now))) {
    logOf(deps)({ level: 'info', message: 'verification mail not re-sent: mailbox budget spent', requestId: request.requestId });
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
async function remindOfOpenRequest(deps: IntakeDeps, request: ErasureRequest, now: Date): Promise<void> {
  const to = storedAddress(deps, request);
  if (!to) return;
  if (request.status === 'AWAITING_VERIFICATION') {
    try {
      await maybeResendVerification(deps, request, to, now);
    } catch (error) {
      logOf(deps)({ level: 'error', message: 'verification mail not re-sent', requestId: request.requestId, errorName: errorName(error) });
    }
    return;
  }
  if (request.status === 'RECEIVED' || isFinal(request.status)) return;
  const window = limitsOf(deps).resendAfterSeconds;
  const { allowed } = await deps.rateLimiter.hit(`already-open-mail:${request.requestId}`, window, 1, now);
  if (allowed && (await takeMailBudget(deps, to, request.scopeKey, now))) await notify(deps, to, 'already-open', 'already-open', request);
}

/**
 * The sweeper's reminder: a request still awaiting verification gets its link once more, once,
 * `resendAfterSeconds` after the first mail. It covers a subject who missed the mail, and a mail
 * lost to a crash between recording VERIFICATION_SENT and handing the mail over.
 * @returns whether a reminder went out.
 * @throws store or mailer errors (the sweeper counts them and tries again at its next pass).
 */
export async function remindUnverified(deps: IntakeDeps, requestId: string): Promise<boolean> {
  const request = await deps.store.getRequest(requestId);
  if (!request || request.status !== 'AWAITING_VERIFICATION' || request.subjectKind !== 'email' || !request.subjectCipher) return false;
  const timeline = await deps.store.getTimeline(requestId);
  const mails = timeline.filter((e) => e.type === 'VERIFICATION_SENT' || (e.type === 'NOTICE_SENT' && e.details.kind === 'verification'));
  if (mails.length !== 1) return false;
  await maybeResendVerification(deps, request, decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey), deps.clock.now());
  const after = await deps.store.getTimeline(requestId);
  return after.some((e) => e.seq > timeline.at(-1)!.seq && e.type === 'NOTICE_SENT' && e.details.kind === 'verification');
}

/**
 * Creates the request the caller has just claimed for the subject (RECEIVED, due in one calendar
 * month, the plain id encrypted) with its REQUEST_RECEIVED event. If the write fails, the claim is
 * released so the subject can ask again, and the error is rethrown.
 */
async function createClaimedRequest(
  deps: IntakeDeps,
  r: {
    requestId: string;
    channel: 'web' | 'ops';
    subjectHash: string;
    subjectKind: SubjectKind;
    plainId: string;
    botIds: string[];
    scopeKey: string;
    actor: Actor;
    now: Date;
    details?: { [key: string]: JsonValue };
  },
): Promise<ErasureRequest> {
  const receivedAt = r.now.toISOString();
  try {
    const { request } = await deps.store.createRequest(
      {
        requestId: r.requestId,
        status: 'RECEIVED',
        channel: r.channel,
        subjectHash: r.subjectHash,
        subjectKind: r.subjectKind,
        scope: { botIds: r.botIds },
        scopeKey: r.scopeKey,
        receivedAt,
        dueAt: dueAtFor(receivedAt).toISOString(),
        attempt: 0,
        subjectCipher: encryptSubjectId(r.plainId, deps.subjectKeys.cipherKey),
      },
      { type: 'REQUEST_RECEIVED', at: receivedAt, actor: r.actor, attempt: 0, status: 'RECEIVED', details: { channel: r.channel, scopeKey: r.scopeKey, botIds: r.botIds, ...r.details } },
    );
    return request;
  } catch (error) {
    await releaseClaim(deps, r.subjectHash, r.scopeKey, r.requestId);
    throw error;
  }
}

async function answer(deps: IntakeDeps, requestId: string, status: RequestStatus, now: Date): Promise<RequestReference> {
  return { requestId, status, statusUrl: await statusUrlFor(deps.publicBaseUrl, deps.linkKey, requestId, now) };
}

export interface EligibilityOutcome {
  request: ErasureRequest;
  rejection?: { rule: EligibilityRule; botIds: string[] };
}

/**
 * The step after verification: checks the owner/co-developer rules against the current
 * privileged-identity snapshot (one lookup by hash) and either rejects the request (recording
 * the rule, bots and snapshot age, and telling the subject) or queues the erasure. Without a
 * snapshot the request is queued and the workflow re-checks.
 */
async function decideAndQueue(deps: IntakeDeps, request: ErasureRequest, notifyTo: string | undefined): Promise<EligibilityOutcome> {
  try {
    return await decideAndQueueOnce(deps, request, notifyTo);
  } catch (error) {
    if (!(error instanceof IllegalTransitionError)) throw error;
    // The subject's confirmation and the sweeper's continuation of the same VERIFIED request can
    // meet (a slow confirmation outlives the stuck window): whichever decided first stands, and
    // the other one reports that decision instead of a conflict.
    const current = await deps.store.getRequest(request.requestId);
    if (!current || current.status === 'VERIFIED') throw error;
    const rejection = current.status === 'REJECTED' && current.rejection?.source === 'snapshot' ? { rule: current.rejection.rule as EligibilityRule, botIds: [...current.rejection.botIds] } : undefined;
    return rejection ? { request: current, rejection } : { request: current };
  }
}

async function decideAndQueueOnce(deps: IntakeDeps, request: ErasureRequest, notifyTo: string | undefined): Promise<EligibilityOutcome> {
  const now = deps.clock.now();
  const snapshot = await deps.snapshots.getCurrentSnapshot();
  let details: { [key: string]: JsonValue } = { eligibility: 'deferred', reason: 'NO_SNAPSHOT' };
  if (snapshot) {
    const identity = await deps.snapshots.lookup(snapshot, request.subjectHash);
    const decision = decideEligibility(identity, snapshot, now);
    const snapshotDetails = { snapshotVersion: snapshot.version, snapshotTakenAt: snapshot.takenAt, snapshotAgeSeconds: decision.snapshotAgeSeconds };
    if (!decision.eligible) {
      const { request: rejected } = await deps.store.appendEvent(request.requestId, (current) => {
        if (current.status !== 'VERIFIED') throw new IllegalTransitionError(current.status, 'REJECTED');
        const transition = assertTransition(current.status, 'REJECTED');
        return {
          event: {
            type: transition.event,
            at: now.toISOString(),
            actor: INTAKE,
            attempt: current.attempt,
            status: 'REJECTED',
            details: { rule: decision.rule, rules: decision.rules, botIds: decision.botIds, source: 'snapshot', ...snapshotDetails },
          },
          patch: { rejection: { rule: decision.rule, botIds: decision.botIds, source: 'snapshot' } },
        };
      });
      if (notifyTo) await notify(deps, notifyTo, 'rejected', 'rejection', rejected, { rejection: { rule: decision.rule, botIds: decision.botIds } });
      return { request: rejected, rejection: { rule: decision.rule, botIds: decision.botIds } };
    }
    details = { eligibility: 'eligible', ...snapshotDetails };
  }
  // Told before queueing, so this mail always precedes the workflow's completion notice.
  if (notifyTo) await notify(deps, notifyTo, 'received', 'confirmation', request);
  try {
    const { request: queued } = await queueErasure(deps, request.requestId, INTAKE, details, ['VERIFIED']);
    return { request: queued };
  } catch (error) {
    if (error instanceof IllegalTransitionError) throw error;
    // The start may have failed after QUEUED was recorded: the sweeper starts it later.
    const current = await deps.store.getRequest(request.requestId);
    if (current?.status !== 'QUEUED') throw error;
    logOf(deps)({ level: 'warn', message: 'workflow start failed; left for the sweeper', requestId: request.requestId, errorName: errorName(error) });
    return { request: current };
  }
}

// ---------------------------------------------------------------------------------------------
// Use cases

/**
 * A subject asks for erasure (web form or JSON). Validates, rate-limits the client, checks that
 * named bots exist, then either finds the open request of the same subject and scope (nothing is
 * created or counted; the stored address may get a reminder, see `remindOfOpenRequest`) or
 * creates a request awaiting verification and emails the link — unless the address already has
 * its open bot-limited requests or the mailbox's budget is spent, in which case nothing is
 * created. The answer is word for word the same in every one of these cases.
 * @throws HttpProblem 422 (invalid input), 429 (per-client limit, with Retry-After), 503 (mail
 *   failed); UnknownBotsError (→ 422), BotListUnavailableError (→ 503); store/claim errors
 *   propagate (→ 500, nothing half-written stays open).
 */
export async function submitRequest(deps: IntakeDeps, input: unknown, client: { ip: string; userAgent?: string }): Promise<SubmissionResult> {
  const valid = validateSubmission(input);
  if (!valid.ok) throw new HttpProblem(validationProblem(valid.errors));
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
    logOf(deps)({ level: 'info', message: 'submission created no request', reason: notAdmitted });
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
    logOf(deps)({ level: 'error', message: 'verification mail failed', requestId, errorName: errorName(error) });
    await abandon(deps, requestId, 'VERIFICATION_MAIL_FAILED');
    throw new HttpProblem(MAIL_FAILED_PROBLEM, { 'retry-after': '120' });
  }
  return SUBMISSION_RESULT;
}

/** The verification link's token checked (signature, purpose, expiry); nothing is consumed. */
async function checkVerifyLink(deps: IntakeDeps, token: string | undefined, now: Date): Promise<Awaited<ReturnType<typeof verifyVerifyToken>>> {
  try {
    return await verifyVerifyToken(deps.linkKey, token ?? '', now);
  } catch (error) {
    if (error instanceof LinkExpiredError) throw new HttpProblem(LINK_EXPIRED_PROBLEM);
    if (error instanceof LinkInvalidError) throw new HttpProblem(LINK_INVALID_PROBLEM);
    throw error;
  }
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
 * @throws HttpProblem 400 (not a valid link), 410 (expired, request closed).
 */
export async function previewVerification(deps: IntakeDeps, token: string | undefined): Promise<VerificationPreview> {
  const now = deps.clock.now();
  const link = await checkVerifyLink(deps, token, now);
  const request = await deps.store.getRequest(link.requestId);
  if (!request || request.status === 'RECEIVED') throw new HttpProblem(LINK_INVALID_PROBLEM);
  if (request.status === 'EXPIRED' || request.status === 'CANCELLED') throw new HttpProblem(REQUEST_CLOSED_PROBLEM);
  if (request.status !== 'AWAITING_VERIFICATION') return { state: 'done', statusUrl: await statusUrlFor(deps.publicBaseUrl, deps.linkKey, request.requestId, now) };
  return { state: 'confirm', requestId: request.requestId, scope: { allBots: request.scope.botIds.length === 0, botIds: [...request.scope.botIds] } };
}

/**
 * The subject confirmed with the button of the page the emailed link opened (`POST /verify`):
 * checks the link (signature, purpose, expiry, single use), records IDENTITY_VERIFIED, then
 * checks eligibility and queues the erasure or rejects.
 * A link of a request already past verification (e.g. a second, re-sent link) just leads to
 * the status page.
 * @throws HttpProblem 400 (not a valid link), 410 (expired, already used, request closed);
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
  if (!firstUse && request?.status !== 'AWAITING_VERIFICATION') throw new HttpProblem(LINK_USED_PROBLEM);
  if (!request) throw new HttpProblem(LINK_INVALID_PROBLEM);
  if (request.status === 'EXPIRED' || request.status === 'CANCELLED') throw new HttpProblem(REQUEST_CLOSED_PROBLEM);
  if (request.status !== 'AWAITING_VERIFICATION') {
    if (request.status === 'RECEIVED') throw new HttpProblem(LINK_INVALID_PROBLEM);
    return answer(deps, request.requestId, request.status, now);
  }

  const { request: verified } = await deps.store.appendEvent(request.requestId, (current) => {
    // RECEIVED → VERIFIED is legal for staff only: a link needs AWAITING_VERIFICATION.
    if (current.status !== 'AWAITING_VERIFICATION') {
      // A second use racing the first (a double click): the first one verified the request.
      if (!firstUse) throw new HttpProblem(LINK_USED_PROBLEM);
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
}

const SUMMARIES: Record<RequestStatus, string> = {
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
const SUBJECT_ENTRIES: Partial<Record<AuditEvent['type'], (e: AuditEvent) => Omit<TimelineEntry, 'at'>>> = {
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
};

/** Events that (re)start an attempt: the next "in progress" status check is shown again. */
const ATTEMPT_STARTS: ReadonlySet<AuditEvent['type']> = new Set(['ERASURE_QUEUED', 'RETRY_REQUESTED', 'RECHECK_REQUESTED']);

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
 * @throws HttpProblem 404.
 */
export async function getStatus(deps: IntakeDeps, requestId: string, statusToken: string | undefined): Promise<StatusView> {
  const now = deps.clock.now();
  const link = /^[A-Za-z0-9_-]{1,64}$/.test(requestId) ? await readStatusToken(deps.linkKey, statusToken, requestId, now) : undefined;
  if (!link) throw new HttpProblem(NOT_FOUND_PROBLEM);
  const request = await deps.store.getRequest(requestId);
  if (!request) throw new HttpProblem(NOT_FOUND_PROBLEM);
  const timeline = await deps.store.getTimeline(requestId);
  if (!statusLinkOpen(timeline, link.issuedAt, now)) throw new HttpProblem(NOT_FOUND_PROBLEM);
  const receipt = await receiptFor(deps.signer, request, timeline);
  const rejection =
    request.status === 'REJECTED' && request.rejection
      ? { rule: request.rejection.rule, botIds: [...request.rejection.botIds], ...explainRejection(request.rejection.rule, request.rejection.botIds) }
      : undefined;
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
  };
}

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
 * @throws HttpProblem 422 (invalid input); store errors propagate.
 */
export async function submitOnBehalf(deps: IntakeDeps, input: unknown, staffActor: Actor): Promise<OnBehalfResult> {
  // Only staff submit on behalf; anything else is a wiring mistake, not a client error.
  if (!staffActor.startsWith('staff:')) throw new TypeError('submitOnBehalf needs a staff actor');
  const valid = validateOnBehalf(input);
  if (!valid.ok) throw new HttpProblem(validationProblem(valid.errors));
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

/**
 * The intake's second half for a request left VERIFIED (the process died between verification
 * and queueing): what the sweeper calls. Checks eligibility and queues or rejects, telling a
 * subject known by email unless they were already told. Requests in any other status are left alone.
 * @throws store, snapshot or workflow errors (the sweeper counts them and tries again later).
 */
export async function continueVerified(deps: IntakeDeps, requestId: string): Promise<void> {
  const request = await deps.store.getRequest(requestId);
  if (!request || request.status !== 'VERIFIED') return;
  const timeline = await deps.store.getTimeline(requestId);
  const told = timeline.some((e) => e.type === 'NOTICE_SENT' && (e.details.kind === 'confirmation' || e.details.kind === 'rejection'));
  const to = !told && request.subjectKind === 'email' && request.subjectCipher ? decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey) : undefined;
  await decideAndQueue(deps, request, to);
}

/** The mail kinds recorded in NOTICE_SENT for the workflow's notices. */
const WORKFLOW_MAIL_KINDS = { completed: 'completion', 'failed-needs-staff': 'failure', rejected: 'rejection' } as const;

/**
 * The notices the workflow and ops send (completion, failure that needs staff, rejection,
 * deadline extension): worded by `composeNotice`, sent by the mailer, recorded as NOTICE_SENT.
 * Subjects known only by an enterprise id (submitted on their behalf) get no email.
 */
export function createNoticeSender(deps: IntakeDeps): NoticeSender & { notifyExtension(request: ErasureRequest, reason: string): Promise<void> } {
  return {
    async notify(request, plainSubjectId, kind) {
      if (request.subjectKind !== 'email') return;
      await notify(deps, plainSubjectId, kind, WORKFLOW_MAIL_KINDS[kind], request, kind === 'rejected' && request.rejection ? { rejection: request.rejection } : {});
    },
    async notifyExtension(request, reason) {
      if (request.subjectKind !== 'email' || !request.subjectCipher) return;
      const to = decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey);
      await notify(deps, to, 'extended', 'extension', request, { extension: { reason, dueAt: request.dueAt } });
    },
  };
}
