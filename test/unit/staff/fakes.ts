/**
 * In-memory stand-ins for the ports the staff use cases need, with the semantics of the real
 * adapters: conditional chain appends built with `chainEvent` (a concurrent writer makes the
 * loser re-read and rebuild, and `build` may throw to refuse), byStatus listing in `listKey`
 * order with positional cursors, write-once checkpoints.
 */
import { randomUUID } from 'node:crypto';
import { CompactSign, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import { chainEvent } from '../../../functions/domain/audit-chain';
import { ConcurrentUpdateError, DomainError, InvalidCursorError, RequestNotFoundError } from '../../../functions/domain/errors';
import type { AuditEvent, AuditEventInput, ErasureRequest, PrivilegedIdentity, RequestStatus, SnapshotInfo } from '../../../functions/domain/model';
import type { AuditStore, Clock, ExecutionState, ListByStatusQuery, NewRequest, Page, RequestPatch, SessionRevocations, Signer, SnapshotReader, WorkflowStarter } from '../../../functions/domain/ports';
import { hashSubject, normaliseSubjectId, detectSubjectKind } from '../../../functions/domain/subject';
import { createStaffAuthenticator, withSessionRevocations, type StaffAuthenticator, type StaffRole } from '../../../functions/adapters/http/staff/auth';
import { CHECKPOINT_JWS_TYPE } from '../../../functions/domain/checkpoints';
import type { CheckpointWriter } from '../../../functions/staff/checkpoints';
import { listKey } from '../../../functions/staff/audit-deps';

export class RequestAlreadyExistsError extends DomainError {}

function applyPatch(request: ErasureRequest, patch: RequestPatch | undefined): ErasureRequest {
  const next: Record<string, unknown> = { ...request };
  for (const [k, v] of Object.entries(patch ?? {})) {
    if (v === undefined) continue;
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return next as unknown as ErasureRequest;
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export class InMemoryAuditStore implements AuditStore {
  readonly requests = new Map<string, ErasureRequest>();
  readonly events = new Map<string, AuditEvent[]>();
  private index: Map<RequestStatus, ErasureRequest[]> | undefined;
  /** Every listByStatus query, for assertions on how the use cases read. */
  readonly listQueries: ListByStatusQuery[] = [];
  /** Turn off to record queries without keeping them (large data sets). */
  recordQueries = true;
  listCalls = 0;
  maxListLimit = 0;

  /** Puts a request as-is (no events): for listing tests with many records. */
  seed(requests: Iterable<ErasureRequest>): void {
    for (const r of requests) this.requests.set(r.requestId, { ...r });
    this.index = undefined;
  }

  async createRequest(request: NewRequest, firstEvent: AuditEventInput): Promise<{ request: ErasureRequest; event: AuditEvent }> {
    if (this.requests.has(request.requestId)) throw new RequestAlreadyExistsError('The request exists already');
    const event = chainEvent(request.requestId, undefined, firstEvent);
    const stored: ErasureRequest = { ...structuredClone(request), status: firstEvent.status, updatedAt: firstEvent.at, lastSeq: event.seq, lastHash: event.hash };
    this.requests.set(request.requestId, stored);
    this.events.set(request.requestId, [event]);
    this.index = undefined;
    return { request: structuredClone(stored), event: structuredClone(event) };
  }

  async getRequest(requestId: string): Promise<ErasureRequest | undefined> {
    const r = this.requests.get(requestId);
    return r ? structuredClone(r) : undefined;
  }

  /** A request seeded without events is the in-memory picture of a creation that never finished. */
  async discardUnfinishedRequest(requestId: string): Promise<boolean> {
    if (!this.requests.has(requestId) || (this.events.get(requestId) ?? []).length > 0) return false;
    this.requests.delete(requestId);
    this.index = undefined;
    return true;
  }

  /** In memory the projection is written with its event: it never lags. */
  async repairProjection(requestId: string): Promise<{ request: ErasureRequest; repaired: boolean }> {
    const request = await this.getRequest(requestId);
    if (!request) throw new RequestNotFoundError(requestId);
    return { request, repaired: false };
  }

  async appendEvent(
    requestId: string,
    build: (current: ErasureRequest) => { event: AuditEventInput; patch?: RequestPatch },
  ): Promise<{ request: ErasureRequest; event: AuditEvent }> {
    for (let tries = 0; tries < 5; tries++) {
      const current = this.requests.get(requestId);
      if (!current) throw new RequestNotFoundError(requestId);
      const snapshot = structuredClone(current);
      // Let other writers run between the read and the conditional write, as over the network.
      await tick();
      const { event: input, patch } = build(structuredClone(snapshot));
      const chain = this.events.get(requestId) ?? [];
      const head = chain.at(-1);
      if ((head?.seq ?? 0) !== snapshot.lastSeq) continue; // condition failed: someone appended first
      const event = chainEvent(requestId, head ? { seq: head.seq, hash: head.hash } : undefined, input);
      chain.push(event);
      this.events.set(requestId, chain);
      const updated = { ...applyPatch(this.requests.get(requestId)!, patch), status: input.status, updatedAt: input.at, lastSeq: event.seq, lastHash: event.hash };
      this.requests.set(requestId, updated);
      this.index = undefined;
      return { request: structuredClone(updated), event: structuredClone(event) };
    }
    throw new ConcurrentUpdateError('Too many concurrent appends');
  }

  async getTimeline(requestId: string): Promise<AuditEvent[]> {
    return structuredClone(this.events.get(requestId) ?? []);
  }

  private sortedFor(status: RequestStatus): ErasureRequest[] {
    if (!this.index) {
      const index = new Map<RequestStatus, ErasureRequest[]>();
      for (const r of this.requests.values()) {
        const list = index.get(r.status) ?? [];
        list.push(r);
        index.set(r.status, list);
      }
      for (const list of index.values()) list.sort((a, b) => (listKey(a) < listKey(b) ? -1 : 1));
      this.index = index;
    }
    return this.index.get(status) ?? [];
  }

  async listByStatus(query: ListByStatusQuery): Promise<Page<ErasureRequest>> {
    this.listCalls++;
    if (this.recordQueries) this.listQueries.push({ ...query });
    const limit = query.limit ?? 100;
    this.maxListLimit = Math.max(this.maxListLimit, limit);
    const all = this.sortedFor(query.status);
    const after = query.cursor ? Buffer.from(query.cursor, 'base64url').toString('utf8') : undefined;
    // As the DynamoDB store: a cursor this store could not have issued is refused by name.
    if (after !== undefined && !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[A-Za-z0-9_-]{1,128}$/.test(after)) throw new InvalidCursorError();
    // Keys are `receivedAt#requestId` with fixed-width ISO times: range bounds are key bounds.
    const first = query.from ? lowerBound(all, query.from) : 0;
    const last = (query.to ? lowerBound(all, `${query.to}$`) : all.length) - 1;
    const items: ErasureRequest[] = [];
    if (!query.descending) {
      let i = Math.max(first, after === undefined ? 0 : upperBound(all, after));
      for (; i <= last && items.length < limit; i++) items.push(all[i]!);
      return page(items, i <= last);
    }
    let i = Math.min(last, after === undefined ? all.length - 1 : lowerBound(all, after) - 1);
    for (; i >= first && items.length < limit; i--) items.push(all[i]!);
    return page(items, i >= first);
  }

  async findBySubjectHash(subjectHash: string): Promise<ErasureRequest[]> {
    return [...this.requests.values()]
      .filter((r) => r.subjectHash === subjectHash)
      .sort((a, b) => (a.receivedAt < b.receivedAt ? 1 : -1))
      .map((r) => structuredClone(r));
  }
}

function page(items: ErasureRequest[], more: boolean): Page<ErasureRequest> {
  const last = items.at(-1);
  // Positional cursors like DynamoDB's LastEvaluatedKey: only when more may follow.
  // Fresh objects, as from the wire (shallow is enough: the use cases never mutate them).
  const fresh = items.map((r) => ({ ...r }));
  return more && last ? { items: fresh, cursor: Buffer.from(listKey(last), 'utf8').toString('base64url') } : { items: fresh };
}

function upperBound(all: ErasureRequest[], key: string): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (listKey(all[mid]!) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBound(all: ErasureRequest[], key: string): number {
  let lo = 0;
  let hi = all.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (listKey(all[mid]!) < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class FakeWorkflow implements WorkflowStarter {
  readonly starts: { requestId: string; attempt: number }[] = [];
  readonly running = new Set<string>();
  failStarts = false;

  async startErasure(requestId: string, attempt: number): Promise<{ started: boolean; executionId: string }> {
    if (this.failStarts) throw Object.assign(new Error('start failed'), { name: 'WorkflowStartError' });
    const executionId = `${requestId}-${attempt}`;
    if (this.starts.some((s) => s.requestId === requestId && s.attempt === attempt)) return { started: false, executionId };
    this.starts.push({ requestId, attempt });
    this.running.add(executionId);
    return { started: true, executionId };
  }

  async isRunning(requestId: string, attempt: number): Promise<boolean> {
    return this.running.has(`${requestId}-${attempt}`);
  }

  async executionState(requestId: string, attempt: number): Promise<ExecutionState> {
    if (this.running.has(`${requestId}-${attempt}`)) return 'RUNNING';
    return this.starts.some((s) => s.requestId === requestId && s.attempt === attempt) ? 'SUCCEEDED' : 'NONE';
  }

  async redrive(): Promise<void> {}
}

export class FakeSnapshots implements SnapshotReader {
  readonly identities = new Map<string, PrivilegedIdentity>();
  constructor(public info: SnapshotInfo | undefined) {}
  async getCurrentSnapshot() {
    return this.info;
  }
  async lookup(_info: SnapshotInfo, subjectHash: string) {
    return this.identities.get(subjectHash);
  }
}

export class MutableClock implements Clock {
  constructor(private at: Date) {}
  now(): Date {
    return new Date(this.at);
  }
  set(at: string | Date): void {
    this.at = new Date(at);
  }
}

export class MemoryCheckpointWriter implements CheckpointWriter {
  readonly objects = new Map<string, string>();
  async put(key: string, body: string): Promise<void> {
    if (this.objects.has(key)) throw new Error('exists');
    this.objects.set(key, body);
  }
  async list(startAfter?: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => startAfter === undefined || k > startAfter).sort();
  }
  async get(key: string): Promise<string | undefined> {
    return this.objects.get(key);
  }
}

/** An ES256 signer with a fresh key pair (KMS in AWS), signing as `typ` (checkpoints by default). */
export async function createTestSigner(typ: string = CHECKPOINT_JWS_TYPE): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    keyId: 'test-checkpoint-key',
    alg: 'ES256',
    typ,
    async sign(payload) {
      return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'ES256', kid: 'test-checkpoint-key', typ }).sign(privateKey);
    },
    async publicJwk() {
      return { ...jwk, kid: 'test-checkpoint-key', alg: 'ES256' };
    },
  };
}

export const SUBJECT_KEY = 'test-subject-hmac-key';

export function subjectHashOf(plain: string): string {
  return hashSubject(normaliseSubjectId(plain, detectSubjectKind(plain)), SUBJECT_KEY);
}

/** A request in the given shape with plausible defaults. */
export function makeRequest(overrides: Partial<ErasureRequest> & { requestId: string }): ErasureRequest {
  const receivedAt = overrides.receivedAt ?? '2026-01-10T10:00:00.000Z';
  return {
    status: 'RECEIVED',
    channel: 'web',
    subjectHash: subjectHashOf(`${overrides.requestId}@example.com`),
    subjectKind: 'email',
    scope: { botIds: [] },
    scopeKey: '*',
    receivedAt,
    dueAt: new Date(new Date(receivedAt).setUTCMonth(new Date(receivedAt).getUTCMonth() + 1)).toISOString(),
    attempt: 0,
    updatedAt: receivedAt,
    lastSeq: 0,
    lastHash: '0'.repeat(64),
    ...overrides,
  };
}

/**
 * Creates a request through the store and walks it to `path`'s last status, one legal event per
 * step, so its chain is real.
 */
export async function createWithHistory(
  store: InMemoryAuditStore,
  base: Partial<ErasureRequest> & { requestId: string },
  path: { type: AuditEventInput['type']; status: RequestStatus; patch?: RequestPatch; at?: string }[],
): Promise<ErasureRequest> {
  const r = makeRequest(base);
  const { lastSeq: _s, lastHash: _h, updatedAt: _u, ...fresh } = r;
  await store.createRequest({ ...fresh, status: 'RECEIVED' }, { type: 'REQUEST_RECEIVED', at: r.receivedAt, actor: 'subject', attempt: 0, status: 'RECEIVED', details: { channel: r.channel } });
  let latest: ErasureRequest = (await store.getRequest(r.requestId))!;
  for (const step of path) {
    ({ request: latest } = await store.appendEvent(r.requestId, (current) => ({
      event: { type: step.type, at: step.at ?? r.receivedAt, actor: 'system:test', attempt: step.patch?.attempt ?? current.attempt, status: step.status, details: {} },
      patch: step.patch,
    })));
  }
  return latest;
}

/** The usual path to FAILED (attempt 1, Kore job accepted then failed). */
export const TO_FAILED = [
  { type: 'VERIFICATION_SENT', status: 'AWAITING_VERIFICATION' },
  { type: 'IDENTITY_VERIFIED', status: 'VERIFIED' },
  { type: 'ERASURE_QUEUED', status: 'QUEUED', patch: { attempt: 1 } },
  { type: 'ERASURE_SUBMITTED', status: 'SUBMITTED', patch: { koreRequestId: 'eud-1' } },
  { type: 'ERASURE_FAILED', status: 'FAILED', patch: { failureReason: 'USER_ERASURE_FAILED' } },
] as const satisfies { type: AuditEventInput['type']; status: RequestStatus; patch?: RequestPatch }[];

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'erasure-desk-staff';

/** Signed-out sessions in memory, as the DynamoDB adapter keeps them. */
export class InMemorySessionRevocations implements SessionRevocations {
  readonly revoked = new Map<string, Date>();
  async revoke(sessionId: string, expiresAt: Date): Promise<void> {
    if (!this.revoked.has(sessionId)) this.revoked.set(sessionId, expiresAt);
  }
  async isRevoked(sessionId: string): Promise<boolean> {
    return this.revoked.has(sessionId);
  }
}

export interface TokenKit {
  /** The authenticator, refusing sessions signed out in `sessions`. */
  auth: StaffAuthenticator;
  sessions: InMemorySessionRevocations;
  valid(role: StaffRole | 'none', sub?: string): Promise<string>;
  /** Tokens that must all be refused with 401, by name. */
  attacks(): Promise<Record<string, string | undefined>>;
}

/** An RS256 issuer, its authenticator, and a table of bad tokens. */
export async function createTokenKit(): Promise<TokenKit> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const sessions = new InMemorySessionRevocations();
  const auth = withSessionRevocations(createStaffAuthenticator({ issuer: ISSUER, audience: AUDIENCE, jwks: createLocalJWKSet({ keys: [publicJwk] }) }), sessions);
  const base = (claims: Record<string, unknown> = {}) =>
    new SignJWT({ 'cognito:groups': ['ops'], token_use: 'access', ...claims }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('staff-1').setIssuedAt().setExpirationTime('10m');
  return {
    auth,
    sessions,
    valid: (role, sub = `user-${role}`) =>
      // A fresh jti each time, as Cognito's: two sign-ins in one second are still two sessions.
      new SignJWT(role === 'none' ? { token_use: 'access', jti: randomUUID() } : { 'cognito:groups': [role], token_use: 'access', jti: randomUUID() })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey),
    async attacks() {
      const pem = await exportSPKI(publicKey);
      const now = Math.floor(Date.now() / 1000);
      return {
        missing: undefined,
        garbage: 'not-a-jwt',
        expired: await base().setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(privateKey),
        'wrong issuer': await base().setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer('https://evil.test').sign(privateKey),
        'wrong audience': await base().setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setAudience('another-app').sign(privateKey),
        'alg none': new UnsecuredJWT({ 'cognito:groups': ['ops'] }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('staff-1').setIssuedAt().setExpirationTime('10m').encode(),
        'HS256 signed with the public key': await base().setProtectedHeader({ alg: 'HS256', kid: 'k1' }).sign(new TextEncoder().encode(pem)),
        'unknown kid': await base().setProtectedHeader({ alg: 'RS256', kid: 'k2' }).sign(other.privateKey),
        'signed by another key with the known kid': await base().setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(other.privateKey),
      };
    },
  };
}
