/**
 * What the workflow tasks' unit tests share: the one builder of `ErasureTaskDeps` over the
 * in-memory audit store, requests arranged in a status through a real event chain, and small
 * fakes of the ports the tasks use (claims, notices, call budget).
 */
import type { CallBudget, CallPriority } from '../../../functions/domain/call-budget';
import type { KoreEraseStatus, KorePlatform } from '../../../functions/domain/kore';
import type { AuditEvent, AuditEventInput, ErasureRequest, RequestStatus } from '../../../functions/domain/model';
import type { OpenRequestClaims, RequestPatch } from '../../../functions/domain/ports';
import { deriveKeys, encryptSubjectId } from '../../../functions/domain/subject';
import type { ErasureTaskDeps, NoticeKind, NoticeSender } from '../../../functions/workflow/task-deps';
import { InMemoryAuditStore } from '../../support/in-memory-audit-store';
import { createWithHistory, FakeSnapshots, MutableClock } from '../../support/staff-fakes';

export const keys = deriveKeys('k'.repeat(32));
export const SUBJECT = 'alice@example.com';
export const NOW = '2026-03-01T12:00:00.000Z';
/** When arranged requests were received: due a month later, so not overdue at {@link NOW}. */
export const RECEIVED_AT = '2026-02-20T12:00:00.000Z';

/** Claims that always grant, remembering what was released. */
export class RecordingClaims implements OpenRequestClaims {
  readonly released: string[] = [];
  async claimOpenRequest() {
    return { claimed: true as const };
  }
  async releaseOpenRequest(_subjectHash: string, _scopeKey: string, requestId: string) {
    this.released.push(requestId);
  }
}

/** Notices that remember what the subject would be told. */
export class RecordingNotices implements NoticeSender {
  readonly sent: { requestId: string; status: RequestStatus; subjectId: string; kind: NoticeKind }[] = [];
  async notify(request: ErasureRequest, subjectId: string, kind: NoticeKind) {
    this.sent.push({ requestId: request.requestId, status: request.status, subjectId, kind });
  }
}

/** A call budget that answers from a script (`'grant'` or a wait in ms) and remembers who asked and who was refused. */
export class ScriptedBudget implements CallBudget {
  readonly asked: CallPriority[] = [];
  readonly refusals: Array<number | undefined> = [];
  constructor(private readonly answers: Array<number | 'grant'> = []) {}
  async take(priority: CallPriority) {
    this.asked.push(priority);
    const next = this.answers.shift() ?? 'grant';
    return next === 'grant' ? ({ granted: true } as const) : ({ granted: false, waitMs: next } as const);
  }
  async takeUpTo(priority: CallPriority) {
    const turn = await this.take(priority);
    return turn.granted ? ({ granted: true, calls: 1 } as const) : turn;
  }
  async refused(retryAfterMs?: number) {
    this.refusals.push(retryAfterMs);
    return { waitMs: retryAfterMs ?? 10_000 };
  }
}

/**
 * The deps of an erasure task: the given store and Kore.ai stand-in (only the calls a test
 * expects), no snapshot, always-granting claims, silent notices, a clock at {@link NOW}, a poll
 * policy of 10..60 s with a 10-minute deadline, and sleeps that return at once.
 */
export function taskDeps(store: InMemoryAuditStore, kore: Partial<KorePlatform> = {}, overrides: Partial<ErasureTaskDeps> = {}): ErasureTaskDeps {
  return {
    store,
    snapshots: new FakeSnapshots(undefined),
    kore: kore as KorePlatform,
    claims: new RecordingClaims(),
    notices: new RecordingNotices(),
    clock: new MutableClock(new Date(NOW)),
    subjectKeys: keys,
    poll: { initialSeconds: 10, maxSeconds: 60, fraction: 0.25, deadlineSeconds: 600 },
    snapshotMaxAgeSeconds: 3600,
    sleep: async () => undefined,
    ...overrides,
  };
}

type Step = { type: AuditEventInput['type']; status: RequestStatus; patch?: RequestPatch };

/** The events that take a new request to each status the workflow meets (attempt 1). */
const PATHS: Record<'QUEUED' | 'SUBMITTED' | 'IN_PROGRESS' | 'COMPLETED' | 'CANCELLED', Step[]> = {
  QUEUED: [
    { type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' },
    { type: 'IDENTITY_VERIFIED', status: 'VERIFIED' },
    { type: 'ERASURE_QUEUED', status: 'QUEUED', patch: { attempt: 1 } },
  ],
  SUBMITTED: [],
  IN_PROGRESS: [],
  COMPLETED: [],
  CANCELLED: [],
};
PATHS.SUBMITTED = [...PATHS.QUEUED, { type: 'ERASURE_SUBMITTED', status: 'SUBMITTED', patch: { koreRequestId: 'eud-7' } }];
PATHS.IN_PROGRESS = [...PATHS.SUBMITTED, { type: 'STATUS_CHECKED', status: 'IN_PROGRESS' }];
PATHS.COMPLETED = [...PATHS.IN_PROGRESS, { type: 'ERASURE_COMPLETED', status: 'COMPLETED', patch: { completedAt: NOW } }];
PATHS.CANCELLED = [...PATHS.QUEUED, { type: 'REQUEST_CANCELLED', status: 'CANCELLED' }];

export interface Arranged {
  store: InMemoryAuditStore;
  requestId: string;
  /** The events appended after the arrangement (what the task under test recorded). */
  since(): Promise<AuditEvent[]>;
}

/**
 * A fresh store holding one request of attempt 1 in `status`, walked there one legal event at a
 * time (so its chain is real), with its subject id (`subject`, default {@link SUBJECT}) still held
 * unless `subjectCipher: null`.
 */
export async function arrange(
  status: keyof typeof PATHS,
  options: { requestId?: string; store?: InMemoryAuditStore; patch?: RequestPatch; scope?: ErasureRequest['scope']; subject?: string } = {},
): Promise<Arranged> {
  const store = options.store ?? new InMemoryAuditStore({ clock: new MutableClock(new Date(NOW)) });
  const requestId = options.requestId ?? 'req-0001';
  const steps = PATHS[status].map((step, i, all) => (i === all.length - 1 && options.patch ? { ...step, patch: { ...step.patch, ...options.patch } } : step));
  const arranged = await createWithHistory(
    store,
    { requestId, receivedAt: RECEIVED_AT, subjectCipher: encryptSubjectId(options.subject ?? SUBJECT, keys.cipherKey), ...(options.scope ? { scope: options.scope, scopeKey: options.scope.botIds.join(',') || '*' } : {}) },
    steps,
  );
  return { store, requestId, since: async () => (await store.getTimeline(requestId)).filter((e) => e.seq > arranged.lastSeq) };
}

/** A Kore.ai status answer with one user per status word. */
export const statusAnswer = (...statuses: string[]): KoreEraseStatus => ({
  koreRequestId: 'eud-7',
  users: statuses.map((status) => ({ userId: SUBJECT, status })),
  rawBody: JSON.stringify({ _id: 'eud-7', response: statuses.map((status) => ({ userId: SUBJECT, status })) }),
});
