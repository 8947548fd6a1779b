/**
 * In-memory stand-ins for the ports the staff use cases need, with the semantics of the real
 * adapters (the audit store is the shared `InMemoryAuditStore`, held to the DynamoDB store's
 * contract): write-once checkpoints, signed-out sessions, test signers and tokens.
 */
import { randomUUID } from 'node:crypto';
import { CompactSign, createLocalJWKSet, exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import type { AuditEventInput, ErasureRequest, PrivilegedIdentity, RequestStatus, SnapshotInfo } from '../../functions/domain/model';
import type { Clock, ExecutionState, RequestPatch, SessionRevocations, Signer, SnapshotReader, WorkflowStarter } from '../../functions/domain/ports';
import { hashSubject, normaliseSubjectId, detectSubjectKind } from '../../functions/domain/subject';
import { createStaffAuthenticator, withSessionRevocations, type StaffAuthenticator, type StaffRole } from '../../functions/adapters/http/staff/auth';
import { CHECKPOINT_JWS_TYPE } from '../../functions/domain/checkpoints';
import type { CheckpointWriter } from '../../functions/staff/checkpoints';
import { InMemoryAuditStore } from './in-memory-audit-store';

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
