/**
 * The canary erasure: on a schedule, a test user of the platform (configured, never a real
 * subject) goes through the whole workflow, marked `canary` in the audit trail and kept out of
 * reports. The previous canary's outcome is what the alarm watches: a platform API change shows
 * up here before a real deadline slips.
 */
import { randomBytes } from 'node:crypto';
import { dueAtFor } from '../domain/deadlines';
import type { ErasureRequest } from '../domain/model';
import type { AuditStore, Clock, OpenRequestClaims, WorkflowStarter } from '../domain/ports';
import { encryptSubjectId, detectSubjectKind, hashSubject, normaliseSubjectId, type SubjectKeys } from '../domain/subject';
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

export interface CanaryReport {
  /** The previous canary's verdict: `ok`, `failed`, `running` or `none`. */
  previous: 'ok' | 'failed' | 'running' | 'none';
  previousRequestId?: string;
  /** The canary started by this run, when the previous one had ended. */
  startedRequestId?: string;
}

const ACTOR = 'system:canary' as const;

function verdict(request: ErasureRequest, now: Date, maxSeconds: number): CanaryReport['previous'] {
  if (request.status === 'COMPLETED') return 'ok';
  if (['FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELLED', 'EXPIRED'].includes(request.status)) return 'failed';
  return now.getTime() - Date.parse(request.receivedAt) > maxSeconds * 1000 ? 'failed' : 'running';
}

/** Judges the last canary and starts the next one unless the last is still running. */
export async function runCanary(deps: CanaryDeps): Promise<CanaryReport> {
  const now = deps.clock.now();
  const kind = detectSubjectKind(deps.canaryUserId);
  const subjectHash = hashSubject(normaliseSubjectId(deps.canaryUserId, kind), deps.subjectKeys.hmacKey);
  const previous = (await deps.store.findBySubjectHash(subjectHash)).find((r) => r.channel === 'canary');
  const report: CanaryReport = previous
    ? { previous: verdict(previous, now, deps.maxCanarySeconds ?? 7200), previousRequestId: previous.requestId }
    : { previous: 'none' };
  if (report.previous === 'running') return report;

  // A failed canary stays in the trail as it is; its claim is released so the next one can run.
  if (previous) await deps.claims.releaseOpenRequest(previous.subjectHash, previous.scopeKey, previous.requestId);
  const botIds = [...new Set(deps.canaryBotIds)].sort();
  const scopeKey = botIds.length ? botIds.join(',') : '*';
  const requestId = `er-canary-${now.getTime().toString(36)}-${randomBytes(4).toString('hex')}`;
  const claim = await deps.claims.claimOpenRequest(subjectHash, scopeKey, requestId);
  if (!claim.claimed) return report;

  const at = now.toISOString();
  await deps.store.createRequest(
    {
      requestId,
      status: 'RECEIVED',
      channel: 'canary',
      subjectHash,
      subjectKind: kind,
      scope: { botIds },
      scopeKey,
      receivedAt: at,
      dueAt: dueAtFor(now).toISOString(),
      attempt: 0,
      subjectCipher: encryptSubjectId(normaliseSubjectId(deps.canaryUserId, kind), deps.subjectKeys.cipherKey),
    },
    { type: 'REQUEST_RECEIVED', at, actor: ACTOR, attempt: 0, status: 'RECEIVED', details: { channel: 'canary', botIds } },
  );
  await deps.store.appendEvent(requestId, (current) => ({
    event: { type: 'IDENTITY_VERIFIED', at, actor: ACTOR, attempt: current.attempt, status: 'VERIFIED', details: { method: 'canary-test-user' } },
  }));
  await queueErasure(deps, requestId, ACTOR, { canary: true });
  return { ...report, startedRequestId: requestId };
}
