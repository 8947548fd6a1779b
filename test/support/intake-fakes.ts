/**
 * In-memory fakes of the domain ports with the semantics of the real adapters: the shared audit
 * store (`InMemoryAuditStore`, held to the DynamoDB store's contract), single-winner claims,
 * single-use tokens, fixed-window rate limits. Every await yields to the event loop, so
 * concurrent use cases really interleave.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { PrivilegedIdentity, SnapshotInfo } from '../../functions/domain/model';
import type { BotCatalogue, Clock, ExecutionState, Mailer, OpenRequestClaims, OutgoingMail, RateLimiter, SingleUseTokens, SnapshotReader, WorkflowStarter } from '../../functions/domain/ports';
import { deriveKeys } from '../../functions/domain/subject';
import { RECEIPT_JWS_TYPE } from '../../functions/domain/checkpoints';
import { createLocalSigner, generateLocalSigningKey } from '../../functions/intake/receipts';
import type { IntakeDeps } from '../../functions/intake/intake-deps';
import { InMemoryAuditStore } from './in-memory-audit-store';
import { recordingLogger } from './recording-logger';

/** Lets other pending work run, as a network round trip would. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

const clone = <T>(value: T): T => structuredClone(value);

export class FakeClaims implements OpenRequestClaims {
  readonly claims = new Map<string, string>();
  async claimOpenRequest(subjectHash: string, scopeKey: string, requestId: string) {
    await tick();
    const key = `${subjectHash}|${scopeKey}`;
    const holder = this.claims.get(key);
    if (holder === undefined || holder === requestId) {
      this.claims.set(key, requestId);
      return { claimed: true as const };
    }
    return { claimed: false as const, existingRequestId: holder };
  }
  async releaseOpenRequest(subjectHash: string, scopeKey: string, requestId: string) {
    await tick();
    const key = `${subjectHash}|${scopeKey}`;
    if (this.claims.get(key) === requestId) this.claims.delete(key);
  }
}

export class FakeTokens implements SingleUseTokens {
  readonly used = new Set<string>();
  async consumeToken(jti: string) {
    await tick();
    if (this.used.has(jti)) return false;
    this.used.add(jti);
    return true;
  }
}

export class FakeRateLimiter implements RateLimiter {
  readonly hits = new Map<string, number>();
  async hit(key: string, windowSeconds: number, limit: number, now: Date) {
    await tick();
    const nowSeconds = now.getTime() / 1000;
    const window = Math.floor(nowSeconds / windowSeconds);
    const k = `${key}@${window}`;
    const hits = (this.hits.get(k) ?? 0) + 1;
    this.hits.set(k, hits);
    const allowed = hits <= limit;
    return { allowed, remaining: Math.max(0, limit - hits), retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((window + 1) * windowSeconds - nowSeconds)) };
  }
}

export class FakeMailer implements Mailer {
  readonly sent: OutgoingMail[] = [];
  failNext = 0;
  async send(mail: OutgoingMail) {
    await tick();
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('simulated mail outage');
    }
    this.sent.push(clone(mail));
    return { messageId: `m-${this.sent.length}` };
  }
  /** The verification link of the newest verification mail (or of the one at `index`). */
  /** The status link of the newest mail about `requestId` ('' when none was mailed). */
  statusLink(requestId: string): string {
    const mail = this.sent.filter((m) => m.requestId === requestId).at(-1);
    const match = mail && /https?:\/\/\S+\/requests\/[A-Za-z0-9_-]+\?token=[^\s"<]+/.exec(mail.text);
    return match ? match[0] : '';
  }

  verifyLink(index = -1): string {
    const mails = this.sent.filter((m) => m.kind === 'verification');
    const mail = mails.at(index);
    const match = mail && /https?:\/\/\S+\/verify\?token=[^\s"<]+/.exec(mail.text);
    if (!match) throw new Error('no verification link was mailed');
    return match[0];
  }
}

/** The bots of the fake account: the ones the unit tests name. */
export const KNOWN_BOTS: readonly string[] = [
  'st-11111111-aaaa-4aaa-8aaa-111111111111',
  'st-22222222-bbbb-4bbb-8bbb-222222222222',
  'st-33333333-cccc-4ccc-8ccc-333333333333',
  'st-44444444-dddd-4ddd-8ddd-444444444444',
  'st-55555555-eeee-4eee-8eee-555555555555',
];

export class FakeSnapshots implements SnapshotReader, BotCatalogue {
  info: SnapshotInfo | undefined;
  readonly identities = new Map<string, PrivilegedIdentity>();
  /** The account's bots in the current snapshot (ignored when `info.botCount` is absent, as the real store does). */
  readonly bots = new Set<string>(KNOWN_BOTS);
  lookups = 0;
  constructor(info?: SnapshotInfo) {
    this.info = info;
  }
  async knownBots(info: SnapshotInfo, botIds: readonly string[]) {
    await tick();
    if (info.botCount === undefined || info.version !== this.info?.version) return new Set<string>();
    return new Set(botIds.filter((id) => this.bots.has(id)));
  }
  async getCurrentSnapshot() {
    await tick();
    return this.info && clone(this.info);
  }
  async lookup(info: SnapshotInfo, subjectHash: string) {
    await tick();
    this.lookups++;
    if (info.version !== this.info?.version) return undefined;
    const identity = this.identities.get(subjectHash);
    return identity && clone(identity);
  }
}

export class FakeWorkflow implements WorkflowStarter {
  readonly starts: { requestId: string; attempt: number }[] = [];
  readonly executions = new Set<string>();
  failNext = 0;
  async startErasure(requestId: string, attempt: number) {
    await tick();
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('simulated Step Functions outage');
    }
    const executionId = `${requestId}-${attempt}`;
    if (this.executions.has(executionId)) return { started: false, executionId };
    this.executions.add(executionId);
    this.starts.push({ requestId, attempt });
    return { started: true, executionId };
  }
  async isRunning(requestId: string, attempt: number) {
    return this.executions.has(`${requestId}-${attempt}`);
  }
  async executionState(requestId: string, attempt: number): Promise<ExecutionState> {
    return this.executions.has(`${requestId}-${attempt}`) ? 'RUNNING' : 'NONE';
  }
  async redrive(): Promise<void> {}
}

export class FakeClock implements Clock {
  constructor(public current = new Date('2026-03-10T09:00:00.000Z')) {}
  now() {
    return new Date(this.current);
  }
  advance(seconds: number) {
    this.current = new Date(this.current.getTime() + seconds * 1000);
  }
}

export const PUBLIC_BASE_URL = 'https://erase.example.test';
export const SNAPSHOT: SnapshotInfo = { version: 'snap-1', takenAt: '2026-03-10T08:00:00.000Z', userCount: 40_000, identityCount: 120, botCount: KNOWN_BOTS.length };

export interface Fixture {
  deps: IntakeDeps;
  store: InMemoryAuditStore;
  claims: FakeClaims;
  tokens: FakeTokens;
  rateLimiter: FakeRateLimiter;
  mailer: FakeMailer;
  snapshots: FakeSnapshots;
  workflow: FakeWorkflow;
  clock: FakeClock;
  publicJwk: Record<string, unknown>;
  logs: Record<string, unknown>[];
}

let signingKey: Promise<Awaited<ReturnType<typeof generateLocalSigningKey>>> | undefined;

/** A fresh set of fakes and deps per test (the signing key pair is generated once per file). */
export async function makeFixture(overrides: Partial<IntakeDeps> = {}): Promise<Fixture> {
  signingKey ??= generateLocalSigningKey();
  const { privateJwk, publicJwk } = await signingKey;
  const clock = new FakeClock();
  const store = new InMemoryAuditStore({ clock });
  const claims = new FakeClaims();
  const tokens = new FakeTokens();
  const rateLimiter = new FakeRateLimiter();
  const mailer = new FakeMailer();
  const snapshots = new FakeSnapshots(SNAPSHOT);
  const workflow = new FakeWorkflow();
  const logger = recordingLogger();
  const logs = logger.lines;
  const deps: IntakeDeps = {
    store,
    claims,
    tokens,
    rateLimiter,
    mailer,
    signer: createLocalSigner(privateJwk, RECEIPT_JWS_TYPE),
    snapshots,
    workflow,
    clock,
    subjectKeys: deriveKeys('unit-test subject secret'),
    linkKey: new Uint8Array(32).fill(7),
    publicBaseUrl: PUBLIC_BASE_URL,
    site: { organisation: 'Example Bank', supervisoryAuthority: { name: 'the Example Data Protection Authority', url: 'https://dpa.example.test/complaints' } },
    logger,
    ...overrides,
  };
  return { deps, store, claims, tokens, rateLimiter, mailer, snapshots, workflow, clock, publicJwk, logs };
}

/** A fresh API Gateway v2 event. */
export function apiEvent(options: {
  method?: string;
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
  isBase64Encoded?: boolean;
  cookies?: string[];
  ip?: string;
}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'GET';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: options.path,
    rawQueryString: options.query ?? '',
    headers: options.headers ?? {},
    ...(options.cookies ? { cookies: options.cookies } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'erase.example.test',
      domainPrefix: 'erase',
      http: { method, path: options.path, protocol: 'HTTP/1.1', sourceIp: options.ip ?? '203.0.113.7', userAgent: 'vitest' },
      requestId: 'gw-req',
      routeKey: '$default',
      stage: '$default',
      time: '10/Mar/2026:09:00:00 +0000',
      timeEpoch: 0,
    },
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
}
