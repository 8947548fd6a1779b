/**
 * The small interfaces the use cases need from the outside world. Adapters implement them
 * (DynamoDB, Kore.ai over HTTP, Step Functions, SES/outbox); tests hand in fakes.
 */
import type { AuditEvent, AuditEventInput, ErasureRequest, RequestStatus } from './model';

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A page of results and the opaque cursor of the next page (absent on the last page). */
export interface Page<T> {
  items: T[];
  cursor?: string;
}

export interface ListByStatusQuery {
  status: RequestStatus;
  /** Inclusive ISO bounds on `receivedAt`. */
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
  /** Newest first when true (default oldest first). */
  descending?: boolean;
}

/** The fields of a new request; the store sets `lastSeq`/`lastHash` and writes event 1. */
export type NewRequest = Omit<ErasureRequest, 'lastSeq' | 'lastHash' | 'updatedAt'>;

/**
 * A change of the request projection that goes with an appended event. Only these fields change
 * after creation; `undefined` leaves a field as it is, `null` removes it.
 */
export interface RequestPatch {
  attempt?: number;
  koreRequestId?: string | null;
  rejection?: ErasureRequest['rejection'] | null;
  failureReason?: string | null;
  needsReview?: string | null;
  completedAt?: string | null;
  verification?: import('./verification').Verification | null;
  dueAt?: string;
  extended?: ErasureRequest['extended'];
  subjectCipher?: string | null;
}

/** The audit trail: requests (their projection) and their append-only event chains. */
export interface AuditStore {
  /**
   * Creates a request with its first event (REQUEST_RECEIVED).
   * @throws RequestAlreadyExistsError when the id is taken.
   */
  createRequest(request: NewRequest, firstEvent: AuditEventInput): Promise<{ request: ErasureRequest; event: AuditEvent }>;

  getRequest(requestId: string): Promise<ErasureRequest | undefined>;

  /**
   * Appends an event built from the current request. `build` is called with the freshest request
   * (re-read after a concurrent append) and may throw (e.g. IllegalTransitionError) to refuse;
   * the append is retried on the next sequence number when another writer got there first.
   * `options.current`: the request as the caller has just written it (e.g. what `createRequest`
   * returned). The first try builds on it without reading the store; if another writer got there
   * first, that try's write is refused and the append goes on as usual, from a fresh read.
   * @throws RequestNotFoundError, ConcurrentUpdateError, or whatever `build` throws.
   */
  appendEvent(
    requestId: string,
    build: (current: ErasureRequest) => { event: AuditEventInput; patch?: RequestPatch },
    options?: { current?: ErasureRequest },
  ): Promise<{ request: ErasureRequest; event: AuditEvent }>;

  /** Every event of a request, in sequence order. */
  getTimeline(requestId: string): Promise<AuditEvent[]>;

  /**
   * Brings the projection up to the chain head when a writer died between appending its event
   * and updating the projection (the sweeper's job). Returns the projection and whether it lagged.
   * @throws RequestNotFoundError for an unknown request.
   */
  repairProjection(requestId: string): Promise<{ request: ErasureRequest; repaired: boolean }>;

  /**
   * Removes a request whose creation never finished (its projection exists, its first event does
   * not: the writer died in between). Returns false, removing nothing, when the request has events.
   */
  discardUnfinishedRequest(requestId: string): Promise<boolean>;

  /**
   * One page of requests of one status.
   * @throws InvalidCursorError when `query.cursor` is not one this store issued for this query.
   */
  listByStatus(query: ListByStatusQuery): Promise<Page<ErasureRequest>>;

  /** Requests of one subject (by HMAC), newest first. */
  findBySubjectHash(subjectHash: string): Promise<ErasureRequest[]>;
}

/** Starts the erasure workflow for one attempt. Starting the same attempt twice is harmless. */
export interface WorkflowStarter {
  /** Execution name `<requestId>-<attempt>`; resolves `{ started: false }` when it already exists. */
  startErasure(requestId: string, attempt: number): Promise<{ started: boolean; executionId: string }>;
  /** Whether an execution of this attempt is running now (for the sweeper). */
  isRunning(requestId: string, attempt: number): Promise<boolean>;
  /** The state of the attempt's execution; `NONE` when it was never started. */
  executionState(requestId: string, attempt: number): Promise<ExecutionState>;
  /**
   * Runs an attempt's stopped execution again from where it stopped (Step Functions redrive).
   * The tasks are idempotent per attempt, so they pick up from what the audit trail says.
   */
  redrive(requestId: string, attempt: number): Promise<void>;
}

export type ExecutionState = 'NONE' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** An email to a subject or to staff. Bodies hold links and plain words, never another person's data. */
export interface OutgoingMail {
  to: string;
  subject: string;
  text: string;
  html?: string;
  /** What the message is about, for the audit trail (`verification`, `rejection`, `completion`, …). */
  kind: string;
  requestId?: string;
}

/** Sends mail: SES in AWS, the outbox (files + page) locally. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
}

/**
 * Signs compact JWS of one kind with its own key: KMS in AWS, a local key pair locally. Receipts and
 * checkpoints each have their signer (separate keys, distinct `typ`), so whoever may sign one can
 * never sign the other, and verifiers check the `typ` as well as the key.
 */
export interface Signer {
  /** Key id and algorithm published with the public key. */
  readonly keyId: string;
  readonly alg: 'ES256' | 'EdDSA';
  /** The JWS `typ` header of every signature (`erasure-receipt+jws`, `audit-checkpoint+jws`). */
  readonly typ: string;
  sign(payload: Record<string, unknown>): Promise<string>;
  /** The public key as a JWK, for auditors. */
  publicJwk(): Promise<Record<string, unknown>>;
}

/** The privileged-identity snapshot, read side (O(1) lookups). */
export interface SnapshotReader {
  getCurrentSnapshot(): Promise<import('./model').SnapshotInfo | undefined>;
  lookup(info: import('./model').SnapshotInfo, subjectHash: string): Promise<import('./model').PrivilegedIdentity | undefined>;
}

/**
 * The account's bots as the current snapshot knows them: the intake accepts only bot ids that
 * exist, so made-up ids cannot open requests (each one a mail) in someone else's name.
 */
export interface BotCatalogue {
  /**
   * Which of `botIds` are bots of the account in snapshot `info` (a snapshot with a bot list:
   * `info.botCount` is set). One consistent read per id, all at once.
   * @throws SnapshotExpiredError when the snapshot is older than its retention.
   */
  knownBots(info: import('./model').SnapshotInfo, botIds: readonly string[]): Promise<Set<string>>;
}

/** One open request per subject and scope (intake idempotency without transactions). */
export interface OpenRequestClaims {
  claimOpenRequest(subjectHash: string, scopeKey: string, requestId: string): Promise<{ claimed: true } | { claimed: false; existingRequestId: string }>;
  releaseOpenRequest(subjectHash: string, scopeKey: string, requestId: string): Promise<void>;
}

/** Single-use tokens (verification links): true the first time a jti is consumed. */
export interface SingleUseTokens {
  consumeToken(jti: string, expiresAt: Date): Promise<boolean>;
}

/**
 * Staff sessions ended before their token expired (console sign-out). A JWT stays valid until its
 * `exp` whatever the client does; remembering the signed-out ones server-side is what makes
 * sign-out end the session.
 */
export interface SessionRevocations {
  /** Remembers `sessionId` as signed out until `expiresAt` (the token's own expiry). Idempotent. */
  revoke(sessionId: string, expiresAt: Date): Promise<void>;
  /** True when `sessionId` was signed out. */
  isRevoked(sessionId: string): Promise<boolean>;
}

/** Fixed-window rate limits (per address, per client). */
export interface RateLimiter {
  hit(key: string, windowSeconds: number, limit: number, now: Date): Promise<{ allowed: boolean; remaining: number; retryAfterSeconds: number }>;
}

/**
 * The logger port: one shape for every component (Powertools underneath in AWS, JSON lines
 * locally). It only ever receives messages, ids, statuses, durations and error names — never an
 * email, an enterprise id, a token or a whole event (see STYLE.md).
 */
export interface Logger {
  info(message: string, data?: Record<string, unknown>): void;
  warn(message: string, data?: Record<string, unknown>): void;
  error(message: string, data?: Record<string, unknown>): void;
}

/** A logger that writes nothing (tests, and parts given no log). */
export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A line of the log as a sink receives it: the level, the message and the data beside them. */
export type LogEntry = { level: 'info' | 'warn' | 'error'; message: string } & Record<string, unknown>;

/** The logger port over a sink of entries (the local runtime's JSON lines, a test's array). */
export function loggerOver(write: (entry: LogEntry) => void): Logger {
  const at = (level: LogEntry['level']) => (message: string, data: Record<string, unknown> = {}) => write({ ...data, level, message });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}
