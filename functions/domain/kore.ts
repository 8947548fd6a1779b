/**
 * The Kore.ai XO Platform as the domain sees it: the three calls of the public API and the
 * errors they can end in, classified so the workflow knows what to retry.
 */
import { DomainError } from './errors';

/** One user of `GET /api/public/alluserroles`. */
export interface KoreRoleUser {
  username?: string;
  emailId?: string;
  orgUserId?: string;
  accountId?: string;
  isDeveloper?: boolean;
  canCreateBot?: boolean;
  userId: string;
  btRoles?: { roleId: string; roleName: string; botId: string; botName?: string; groups?: unknown[] }[];
  /**
   * The shape of an entry is not documented. The client keeps entries with a string `roleName`
   * and turns any other shape into `{ roleName: '', unrecognised: true }`, which the eligibility
   * rules count as an account owner (fail safe: a role the desk cannot read never makes a user
   * erasable).
   */
  adminRoles?: { roleId?: string; roleName: string; unrecognised?: true }[];
}

export interface KoreUserRolesPage {
  total: number;
  availableMore: boolean;
  users: KoreRoleUser[];
}

export interface KoreEraseAccepted {
  koreRequestId: string;
  /** Job-level status as answered, e.g. `in-progress`. */
  status: string;
}

/** Per-user status as answered: `SUCCESS`, `FAILED`, or anything else (recorded verbatim). */
export interface KoreEraseStatus {
  koreRequestId: string;
  createdOn?: string;
  lastUpdatedOn?: string;
  users: { userId: string; status: string }[];
  /** The platform's answer body, exactly as received (hashed into the receipt). */
  rawBody: string;
}

/** The platform as the workflow and the snapshot refresh need it. */
export interface KorePlatform {
  /** `DELETE /api/public/bot/eraseUsersData`; empty `botIds` means all bots. */
  eraseUsersData(userIds: string[], botIds: string[]): Promise<KoreEraseAccepted>;
  /** `GET /api/public/bot/eraseUsersData/status/:reqId`. */
  getEraseStatus(koreRequestId: string): Promise<KoreEraseStatus>;
  /** `GET /api/public/alluserroles?limit&offset`. */
  getUserRoles(offset: number, limit: number): Promise<KoreUserRolesPage>;
}

/** One page of `POST /api/public/getSessions` (Sessions History, admin-console form) asked for. */
export interface KoreSessionsQuery {
  /** Email or enterprise id of the user. */
  userId: string;
  /** ISO times; the platform reads at most a few days at once by default (docs/kore-platform.md S4). */
  dateFrom: string;
  dateTo: string;
  skip: number;
  limit: number;
}

/**
 * What a page of sessions tells the desk: how many, in which bots (`undefined` where a session
 * names none) and whether more follow. Nothing of a session's content is kept; `rawBody` is the
 * answer as received, hashed into the receipt and then dropped.
 */
export interface KoreSessionsPage {
  sessions: { botId?: string }[];
  moreAvailable: boolean;
  rawBody: string;
}

/** The Sessions History API, read to check that an erasure really removed the user's sessions. */
export interface KoreSessionsHistory {
  /** `POST /api/public/getSessions`. @throws KoreScopeMissingError, KoreAuthError, KoreRetryableError, KorePermanentError. */
  getSessions(query: KoreSessionsQuery): Promise<KoreSessionsPage>;
}

/**
 * Worth trying again later: an answer that proves the platform did not act (429, a rate-limit
 * message, 5xx with a body), a connection refused before anything was sent, or — for the calls
 * that only read (status, user roles) — any failure without an answer. `retryAfterMs` carries the
 * platform's `Retry-After` when it sent one; `rateLimited` says the platform named its rate limit.
 */
export class KoreRetryableError extends DomainError {
  readonly rateLimited: boolean;
  constructor(
    message: string,
    readonly httpStatus: number | undefined,
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown; rateLimited?: boolean },
  ) {
    super(message, options);
    this.name = 'KoreRetryableError';
    this.rateLimited = options?.rateLimited ?? false;
  }
}

/**
 * An erasure's DELETE may have reached the platform but its answer was lost (timeout, connection
 * reset, a body cut short): the platform may have created the job. Sending the DELETE again could
 * erase twice under two job ids, so it is never retried within the attempt.
 */
export class KoreOutcomeUnknownError extends DomainError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KoreOutcomeUnknownError';
  }
}

/** The platform refused the erasure under its owner/co-developer rules: not retried, REJECTED. */
export class KoreRefusedError extends DomainError {
  constructor(
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = 'KoreRefusedError';
  }
}

/**
 * The platform answered with an error that will not go away by retrying (400, 404, …).
 * `platformMessage` is the platform's own explanation when it gave one, with anything that looks
 * like a user id, an email or a number replaced (see `sanitisePlatformMessage`), so it can be
 * recorded on the audit trail for ops.
 */
export class KorePermanentError extends DomainError {
  constructor(
    message: string,
    readonly httpStatus: number,
    readonly platformMessage?: string,
  ) {
    super(message);
    this.name = 'KorePermanentError';
  }
}

/**
 * The platform's address answered with a redirect (3xx). The client never follows one: the request
 * carries the `auth` token and, for an erasure, the people's ids, and a redirect — a moved tenant,
 * a misconfigured proxy, a hijacked host — would hand both to wherever it points. Not retried: the
 * configured base URL has to be checked by ops.
 */
export class KoreRedirectError extends KorePermanentError {
  constructor(
    message: string,
    httpStatus: number,
  ) {
    super(message, httpStatus);
    this.name = 'KoreRedirectError';
  }
}

/** The platform did not accept our credentials (401/403): an ops problem, not retried blindly. */
export class KoreAuthError extends DomainError {
  constructor(
    message: string,
    readonly httpStatus: number,
  ) {
    super(message);
    this.name = 'KoreAuthError';
  }
}

/**
 * The app lacks the admin scope a call needs (for the Sessions History API: "Bot Analytics > Bot
 * Sessions"): the platform answered 403, or 401 naming a scope. Not retried; a read-back ends
 * `not-verified: scope-missing` and the erasure itself stands.
 */
export class KoreScopeMissingError extends KoreAuthError {
  constructor(message: string, httpStatus: number) {
    super(message, httpStatus);
    this.name = 'KoreScopeMissingError';
  }
}
