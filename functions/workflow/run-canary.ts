/**
 * The canary erasure: on a schedule, a test user of the platform (configured, never a real
 * subject) goes through the whole workflow, marked `canary` in the audit trail and kept out of
 * reports. The previous canary's outcome is what the alarm watches: a platform API change shows
 * up here before a real deadline slips.
 */
import { randomBytes } from 'node:crypto';
import { dueAtFor } from '../domain/deadlines';
import { canTransition } from '../domain/lifecycle';
import type { ErasureRequest } from '../domain/model';
import type { AuditStore, Clock, OpenRequestClaims, WorkflowStarter } from '../domain/ports';
import { encryptSubjectId, detectSubjectKind, hashSubject, normaliseSubjectId, type SubjectKeys } from '../domain/subject';
import { endForGood } from './task-deps';
import { queueErasure } from './queue-erasure';

export interface CanaryDeps {
  store: AuditStore;
  claims: OpenRequestClaims;
  workflow: WorkflowStarter;
  clock: Clock;
  subjectKeys: SubjectKeys;
  /** The test user (an end user of the canary bots, never privileged). */
  canaryUserId: string;
  canaryBotIds: string[];
  /** A canary still running after this long counts as failed (default 2 h). */
  maxCanarySeconds?: number;
}

export interface CanaryVerdict {
  botId: string;
  /** The previous canary's verdict: `ok`, `failed`, `running` or `none`. */
  previous: 'ok' | 'failed' | 'running' | 'none';
  previousRequestId?: string;
  /** The canary started by this run, when the previous one had ended. */
  startedRequestId?: string;
}

export interface CanaryReport {
  canaries: CanaryVerdict[];
  /** How many bots' previous canary failed (what the CanaryFailed metric carries). */
  failed: number;
}

const ACTOR = 'system:canary' as const;

function verdict(request: ErasureRequest, now: Date, maxSeconds: number): CanaryVerdict['previous'] {
  if (request.status === 'COMPLETED') return 'ok';
  if (['FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELLED', 'EXPIRED'].includes(request.status)) return 'failed';
  return now.getTime() - Date.parse(request.receivedAt) > maxSeconds * 1000 ? 'failed' : 'running';
}

/**
 * One canary per configured bot: judges each bot's last canary and starts the next one unless
 * the last is still running.
 */
export async function runCanary(deps: CanaryDeps): Promise<CanaryReport> {
  const now = deps.clock.now();
  const kind = detectSubjectKind(deps.canaryUserId);
  const subjectHash = hashSubject(normaliseSubjectId(deps.canaryUserId, kind), deps.subjectKeys.hmacKey);
  const history = (await deps.store.findBySubjectHash(subjectHash)).filter((r) => r.channel === 'canary');
  const canaries: CanaryVerdict[] = [];
  for (const botId of [...new Set(deps.canaryBotIds)].sort()) {
    // Newest first: the last canary of this bot.
    const previous = history.find((r) => r.scopeKey === botId);
    const verdictOf: CanaryVerdict = previous
      ? { botId, previous: verdict(previous, now, deps.maxCanarySeconds ?? 7200), previousRequestId: previous.requestId }
      : { botId, previous: 'none' };
    if (verdictOf.previous !== 'running') {
      const started = await startCanary(deps, subjectHash, kind, botId, previous, now);
      if (started) verdictOf.startedRequestId = started;
    }
    canaries.push(verdictOf);
  }
  return { canaries, failed: canaries.filter((c) => c.previous === 'failed').length };
}

async function startCanary(
  deps: CanaryDeps,
  subjectHash: string,
  kind: ReturnType<typeof detectSubjectKind>,
  botId: string,
  previous: ErasureRequest | undefined,
  now: Date,
): Promise<string | undefined> {
  // A failed canary has done its job (the alarm): it is closed as superseded so it does not pile
  // up in the ops lists, and its claim is released so the next one can run.
  if (previous && canTransition(previous.status, 'CANCELLED')) {
    const { request: closed } = await deps.store.appendEvent(previous.requestId, (current) => ({
      event: { type: 'REQUEST_CANCELLED', at: now.toISOString(), actor: ACTOR, attempt: current.attempt, status: 'CANCELLED', details: { reason: 'CANARY_SUPERSEDED' } },
    }));
    await endForGood(deps, closed);
  } else if (previous) {
    await deps.claims.releaseOpenRequest(previous.subjectHash, previous.scopeKey, previous.requestId);
  }
  const requestId = `er-canary-${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
  const claim = await deps.claims.claimOpenRequest(subjectHash, botId, requestId);
  if (!claim.claimed) return undefined;

  const at = now.toISOString();
  await deps.store.createRequest(
    {
      requestId,
      status: 'RECEIVED',
      channel: 'canary',
      subjectHash,
      subjectKind: kind,
      scope: { botIds: [botId] },
      scopeKey: botId,
      receivedAt: at,
      dueAt: dueAtFor(now).toISOString(),
      attempt: 0,
      subjectCipher: encryptSubjectId(normaliseSubjectId(deps.canaryUserId, kind), deps.subjectKeys.cipherKey),
    },
    { type: 'REQUEST_RECEIVED', at, actor: ACTOR, attempt: 0, status: 'RECEIVED', details: { channel: 'canary', botIds: [botId] } },
  );
  await deps.store.appendEvent(requestId, (current) => ({
    event: { type: 'IDENTITY_VERIFIED', at, actor: ACTOR, attempt: current.attempt, status: 'VERIFIED', details: { method: 'canary-test-user' } },
  }));
  await queueErasure(deps, requestId, ACTOR, { canary: true });
  return requestId;
}
