/** Whether a submission may become a request: per-client limits, known bots, the open-request claim (taken, found or stale), the mailbox budget; and the clean-up of a half-made request (see `submit-request.ts`). */
import { RateLimitedError, SnapshotExpiredError } from '../domain/errors';
import { dueAtFor } from '../domain/deadlines';
import { BotListUnavailableError, UnknownBotsError } from '../domain/errors';
import { assertTransition, isFinal } from '../domain/lifecycle';
import type { Actor, ErasureRequest, JsonValue, SubjectKind } from '../domain/model';
import { decryptSubjectId, encryptSubjectId, hashSubject } from '../domain/subject';
import { mailBudgetOf } from './mail-budget';
import { IntakeDeps, INTAKE, limitsOf, errorName, requestIdTime } from './intake-deps';

/**
 * Counts one hit against every rule at once (one round trip, not one per rule) and refuses with
 * the first rule that is exceeded.
 */
export async function enforceLimits(deps: IntakeDeps, hits: readonly { key: string; rule: { limit: number; windowSeconds: number } }[], now: Date): Promise<void> {
  const results = await Promise.all(hits.map(({ key, rule }) => deps.rateLimiter.hit(key, rule.windowSeconds, rule.limit, now)));
  const refused = results.find((r) => !r.allowed);
  if (refused) throw new RateLimitedError(refused.retryAfterSeconds);
}

/**
 * Refuses bot ids the organisation does not have, so made-up ids cannot open requests.
 * @throws UnknownBotsError naming the unknown ids; BotListUnavailableError when there is no
 *   snapshot, the snapshot has no bot list, or it is past its retention (fail-safe).
 */
export async function requireKnownBots(deps: IntakeDeps, botIds: readonly string[]): Promise<void> {
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
export async function takeMailBudget(deps: IntakeDeps, address: string, scopeKey: string, now: Date): Promise<boolean> {
  const budget = mailBudgetOf(address, scopeKey);
  if (budget.kind === 'paced') return true;
  const { limit, windowSeconds } = limitsOf(deps).perMailbox;
  const key = `mailbox:${hashSubject(`mailbox:${budget.mailbox}`, deps.subjectKeys.hmacKey)}`;
  return (await deps.rateLimiter.hit(key, windowSeconds, limit, now)).allowed;
}

/** Why a submission that claimed a new scope may not become a request (it answers the same). */
export type NotAdmitted = 'OPEN_BOT_SCOPES_CAP' | 'MAILBOX_BUDGET';

/**
 * Whether a new request may be created for an address and scope the caller has just claimed:
 * a bot-limited scope needs a free slot among the address's open bot-limited requests, and the
 * verification mail needs the mailbox's budget. All-bots requests never need a slot.
 */
export async function admitNewRequest(deps: IntakeDeps, r: { subjectHash: string; scopeKey: string; requestId: string; address: string }, now: Date): Promise<NotAdmitted | undefined> {
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
export function storedAddress(deps: IntakeDeps, request: ErasureRequest): string | undefined {
  if (request.subjectKind !== 'email' || !request.subjectCipher) return undefined;
  try {
    return decryptSubjectId(request.subjectCipher, deps.subjectKeys.cipherKey);
  } catch (error) {
    deps.logger.error('stored address unreadable', { requestId: request.requestId, errorName: errorName(error) });
    return undefined;
  }
}

/** A claim that cannot be serving an open request any more (see the module comment). */
export async function isStaleClaim(deps: IntakeDeps, existingId: string, existing: ErasureRequest | undefined, now: Date): Promise<boolean> {
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

export type ClaimOutcome = { claimed: true } | { claimed: false; existingId: string; existing: ErasureRequest | undefined };

/** Claims the subject+scope for `requestId`, or finds the open request holding it (clearing one stale claim). */
export async function claimOrFind(deps: IntakeDeps, subjectHash: string, scopeKey: string, requestId: string, now: Date): Promise<ClaimOutcome> {
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
export async function abandon(deps: IntakeDeps, requestId: string, reason: string, options: { release: boolean } = { release: true }): Promise<void> {
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
    deps.logger.error('intake clean-up could not cancel the request', { requestId, reason, errorName: errorName(error) });
  }
  if (!options.release) return;
  try {
    request ??= await deps.store.getRequest(requestId);
    if (request) await deps.claims.releaseOpenRequest(request.subjectHash, request.scopeKey, requestId);
  } catch (error) {
    deps.logger.error('intake clean-up could not release the claim', { requestId, errorName: errorName(error) });
  }
}

/** Releases a claim this call made; a failure is logged (the claim goes stale, see the module comment). */
export async function releaseClaim(deps: IntakeDeps, subjectHash: string, scopeKey: string, requestId: string): Promise<void> {
  await deps.claims.releaseOpenRequest(subjectHash, scopeKey, requestId).catch((e: unknown) =>
    deps.logger.error('intake clean-up could not release the claim', { requestId, errorName: errorName(e) }),
  );
}

/**
 * Creates the request the caller has just claimed for the subject (RECEIVED, due in one calendar
 * month, the plain id encrypted) with its REQUEST_RECEIVED event. If the write fails, the claim is
 * released so the subject can ask again, and the error is rethrown.
 */
export async function createClaimedRequest(
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
