/**
 * The Kore.ai XO Platform over HTTP: the one adapter that talks to the platform's public API.
 *
 * Every call sends `auth: <JWT>`, a token signed HS256 with the app's client secret whose
 * `appId` claim is the client id, with `sub` and a fresh `jti`: the platform refuses a replayed
 * `jti`, so no token is ever sent twice (docs/kore-platform.md). Answers are validated before
 * they reach the domain, and every failure is translated into one of the named errors of
 * `domain/kore` so the workflow's `Retry`/`Catch` can match by name. No message built here
 * carries a user id, an email, a request body or a token.
 *
 * Over 300 lines on purpose: the client's four calls and its classification of failures (the
 * table above `KoreClient`) read together; the answers' shapes are in platform-answers.ts and the
 * reading of the platform's messages in platform-messages.ts.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import * as z from '../../domain/validation';
import {
  KoreAuthError,
  KoreOutcomeUnknownError,
  KorePermanentError,
  KoreRedirectError,
  KoreRefusedError,
  KoreRetryableError,
  KoreScopeMissingError,
  type KoreEraseAccepted,
  type KoreSessionsHistory,
  type KoreSessionsPage,
  type KoreSessionsQuery,
  type KoreEraseStatus,
  type KorePlatform,
  type KoreUserRolesPage,
} from '../../domain/kore';
import { systemClock, type Clock } from '../../domain/ports';
import { eraseAcceptedSchema, eraseStatusSchema, sessionsPageOf, userRolesPageSchema } from './platform-answers';
import { parseRetryAfter, platformMessageOf, sanitisePlatformMessage } from './platform-messages';

export { parseRetryAfter, platformMessageOf, sanitisePlatformMessage };

export interface KoreClientOptions {
  /** Scheme and host of the tenant, e.g. `https://bots.kore.ai` or `http://127.0.0.1:4010`. */
  baseUrl: string;
  /** The app's client id (`cs-…`): the `appId` claim. */
  clientId: string;
  /** The app's client secret: the HS256 key. Never logged. */
  clientSecret: string;
  /** Whole-call budget (connect, answer and body), default {@link DEFAULT_KORE_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Lifetime of a minted token, default 300 s; at most 3600 s (the platform's one hour). */
  tokenTtlSeconds?: number;
  /**
   * The `sub` claim, default {@link DEFAULT_KORE_SUBJECT}. The platform's pages name `sub` among
   * the claims without saying what an admin-console app must put there (docs/kore-platform.md).
   */
  subject?: string;
  /** Injected for tests; default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Injected for tests; drives `iat`/`exp` and `Retry-After` dates. */
  clock?: Clock;
}

/** The `sub` claim when none is configured: names the caller, never a person. */
export const DEFAULT_KORE_SUBJECT = 'erasure-desk';

/** The documented answer of a call over the platform's rate limit, whatever its HTTP status. */
export const RATE_LIMIT_MESSAGE = 'Rate limit for this API has been reached';

/**
 * The default whole-call budget of one Kore.ai call. The stack sizes each task Lambda's timeout
 * to cover it (infra/constructs/functions.ts), so a call never outlives the function making it.
 */
export const DEFAULT_KORE_TIMEOUT_MS = 10_000;

export const ERASE_PATH = '/api/public/bot/eraseUsersData';
export const ERASE_STATUS_PATH = '/api/public/bot/eraseUsersData/status/';
export const USER_ROLES_PATH = '/api/public/alluserroles';
export const SESSIONS_PATH = '/api/public/getSessions';

const optionsSchema = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }),
  clientId: z.string().check(z.minLength(1)),
  clientSecret: z.string().check(z.minLength(1)),
  timeoutMs: z._default(z.int().check(z.positive(), z.lte(300_000)), DEFAULT_KORE_TIMEOUT_MS),
  tokenTtlSeconds: z._default(z.int().check(z.gte(1), z.lte(3600)), 300),
  subject: z._default(z.string().check(z.minLength(1), z.maxLength(200)), DEFAULT_KORE_SUBJECT),
});

/**
 * Words by which the platform explains a refusal under its owner/co-developer rules ("… is an
 * account owner …", "… belongs to one or more accounts …", "… bot owner or co-developer …").
 * Only matched against the platform's own message (see `platformMessageOf`), never the raw body.
 */
const REFUSAL_PATTERN = /\b(owner|co-?developer|account member|belongs? to (?:one or more |an? )?accounts?)\b/i;

const RATE_LIMIT_PATTERN = /rate limit for this api has been reached/i;

/** A 2xx is read as a rate-limit refusal only when the platform's own message says so, never for a word inside data. */
const isRateLimitMessage = (message: string | undefined) => message !== undefined && RATE_LIMIT_PATTERN.test(message);

/**
 * Errors of `fetch` that prove nothing was sent: the connection was refused or the host never
 * resolved or was unreachable. Anything else (a reset, a timeout, a body cut short) may have
 * happened after the platform received the request.
 */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

type Operation = 'eraseUsersData' | 'getEraseStatus' | 'getUserRoles' | 'getSessions';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * `KorePlatform` over HTTP with a self-minted JWT per call.
 *
 * Error classification:
 * - An answer carrying the documented rate-limit message (any status) or a 429 →
 *   `KoreRetryableError` with `rateLimited`; a 408 or a 5xx whose body arrived →
 *   `KoreRetryableError` (`retryAfterMs` from `Retry-After` in seconds or as an HTTP-date).
 * - No answer: a connection refused or a host not found (nothing was sent) →
 *   `KoreRetryableError`. Any other loss (timeout, reset, body cut short) → `KoreRetryableError`
 *   for the reads, but `KoreOutcomeUnknownError` for `eraseUsersData`: the DELETE may have
 *   created a job, so it must not be sent again.
 * - 401 and 403 → `KoreAuthError`; on `getSessions`, a 403 (or a 401 naming a scope) →
 *   `KoreScopeMissingError`: the app lacks "Bot Analytics > Bot Sessions".
 * - On `eraseUsersData` only: any other 4xx whose message (`errors[].msg`, `message`, `error`…)
 *   mentions an owner, a co-developer, an account member or belonging to an account →
 *   `KoreRefusedError`. The platform documents the rules but not the shape of the refusal.
 * - Any other 4xx → `KorePermanentError` carrying the platform's message, sanitised; never
 *   guessed into a refusal. A 2xx whose body does not have the documented shape → `KorePermanentError`.
 * - Any 3xx → `KoreRedirectError` (permanent). Redirects are never followed (`redirect: 'manual'`):
 *   following one would send the `auth` token, the DELETE and the user ids to wherever the
 *   `Location` points. (`'error'` would make fetch throw a bare TypeError, indistinguishable from a
 *   network failure and so retried; `'manual'` lets the answer be named.)
 */
export class KoreClient implements KorePlatform, KoreSessionsHistory {
  readonly #baseUrl: string;
  readonly #clientId: string;
  readonly #key: Uint8Array;
  readonly #timeoutMs: number;
  readonly #ttl: number;
  readonly #subject: string;
  readonly #fetch: typeof globalThis.fetch;
  readonly #clock: Clock;

  /** @throws Error when an option is missing or invalid (message names the option, never its value). */
  constructor(options: KoreClientOptions) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ');
      throw new Error(`Invalid Kore.ai client options: ${fields}`);
    }
    this.#baseUrl = parsed.data.baseUrl.replace(/\/+$/, '');
    this.#clientId = parsed.data.clientId;
    this.#key = new TextEncoder().encode(parsed.data.clientSecret);
    this.#timeoutMs = parsed.data.timeoutMs;
    this.#ttl = parsed.data.tokenTtlSeconds;
    this.#subject = parsed.data.subject;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Asks the platform to erase the users' data from `botIds`, or from every bot when `botIds` is
   * empty. The documented body always carries `userIds` and `botIds` (neither is marked optional)
   * and `RemoveDataFromAllBots` is "optional, ignores botIds when true": so an all-bots erasure
   * sends `botIds: []` with `RemoveDataFromAllBots: true`, a scoped one sends the bots without
   * the flag.
   * @throws KoreRefusedError, KoreAuthError, KoreRetryableError (the platform did not take the
   * job), KoreOutcomeUnknownError (it may have), KorePermanentError.
   */
  async eraseUsersData(userIds: string[], botIds: string[]): Promise<KoreEraseAccepted> {
    const body = botIds.length === 0 ? { userIds, botIds: [], RemoveDataFromAllBots: true } : { userIds, botIds };
    const answer = await this.#call('eraseUsersData', 'DELETE', ERASE_PATH, body);
    const accepted = this.#parse('eraseUsersData', answer, eraseAcceptedSchema);
    return { koreRequestId: accepted.requestId, status: accepted.status };
  }

  /**
   * Reads the state of an erasure job. `rawBody` is the answer text exactly as received.
   * @throws KoreAuthError, KoreRetryableError, KorePermanentError (404 for an unknown job, or an
   * answer about another job than the one asked for).
   */
  async getEraseStatus(koreRequestId: string): Promise<KoreEraseStatus> {
    const answer = await this.#call('getEraseStatus', 'GET', ERASE_STATUS_PATH + encodeURIComponent(koreRequestId));
    const job = this.#parse('getEraseStatus', answer, eraseStatusSchema);
    if (job._id !== koreRequestId) {
      throw new KorePermanentError('Kore.ai getEraseStatus answered about another job', answer.status);
    }
    return {
      koreRequestId: job._id,
      ...(job.createdOn !== undefined && { createdOn: job.createdOn }),
      ...(job.lastUpdatedOn !== undefined && { lastUpdatedOn: job.lastUpdatedOn }),
      users: (job.response ?? []).map(({ userId, status }) => ({ userId, status })),
      rawBody: answer.text,
    };
  }

  /**
   * One page of the account's users and their roles; `offset` is the number of records skipped.
   * `availableMore` is derived from `total` when the platform leaves it out.
   * @throws KoreAuthError, KoreRetryableError, KorePermanentError.
   */
  async getUserRoles(offset: number, limit: number): Promise<KoreUserRolesPage> {
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 1) {
      throw new RangeError('offset must be an integer >= 0 and limit an integer >= 1');
    }
    const query = new URLSearchParams({ limit: String(limit), offset: String(offset) });
    const answer = await this.#call('getUserRoles', 'GET', `${USER_ROLES_PATH}?${query}`);
    const page = this.#parse('getUserRoles', answer, userRolesPageSchema);
    return {
      total: page.total,
      availableMore: page.availableMore ?? offset + page.users.length < page.total,
      users: page.users,
    };
  }

  /**
   * One page of a user's sessions between `dateFrom` and `dateTo` (the admin-console form of the
   * Sessions History API). Only the count and bot of each session are passed on.
   * @throws KoreScopeMissingError, KoreAuthError, KoreRetryableError, KorePermanentError.
   */
  async getSessions(query: KoreSessionsQuery): Promise<KoreSessionsPage> {
    if (!Number.isInteger(query.skip) || query.skip < 0 || !Number.isInteger(query.limit) || query.limit < 1) {
      throw new RangeError('skip must be an integer >= 0 and limit an integer >= 1');
    }
    const body = { userId: query.userId, dateFrom: query.dateFrom, dateTo: query.dateTo, skip: query.skip, limit: query.limit };
    const answer = await this.#call('getSessions', 'POST', SESSIONS_PATH, body);
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw new KorePermanentError(`Kore.ai getSessions answered ${answer.status} with a body that is not JSON`, answer.status);
    }
    const page = sessionsPageOf(json, query.skip, query.limit);
    if (!page) throw new KorePermanentError(`Kore.ai getSessions answered ${answer.status} without a list of sessions`, answer.status);
    return { ...page, rawBody: answer.text };
  }

  /** A new token for one call: a `jti` the platform has never seen, so it is never a replay. */
  async #authToken(): Promise<string> {
    const now = Math.floor(this.#clock.now().getTime() / 1000);
    return new SignJWT({ appId: this.#clientId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(this.#subject)
      .setIssuedAt(now)
      .setExpirationTime(now + this.#ttl)
      .setJti(randomUUID())
      .sign(this.#key);
  }

  async #call(op: Operation, method: 'GET' | 'DELETE' | 'POST', pathAndQuery: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { auth: await this.#authToken(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let answer: Answer;
    let response: Response | undefined;
    try {
      // One signal for the whole exchange: it aborts the connect, the wait and the body read,
      // and an abort closes the socket so the platform sees the client go away.
      const signal = AbortSignal.timeout(this.#timeoutMs);
      response = await this.#fetch(this.#baseUrl + pathAndQuery, {
        method,
        headers,
        signal,
        redirect: 'manual',
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      answer = { status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      throw transportError(op, error, response?.status);
    }
    // A refusal is short: a long 2xx (a page of users) is data and is not parsed twice.
    if (answer.status >= 200 && answer.status < 300 && (answer.text.length > 4096 || !isRateLimitMessage(platformMessageOf(answer.text)))) return answer;
    throw this.#statusError(op, answer);
  }

  #statusError(op: Operation, answer: Answer): Error {
    const { status } = answer;
    const retryAfterMs = () => parseRetryAfter(answer.headers.get('retry-after'), this.#clock.now());
    // The documented message wins over the status: the platform does not document which it uses.
    if (status === 429 || RATE_LIMIT_PATTERN.test(answer.text)) {
      return new KoreRetryableError(`Kore.ai ${op} answered ${status}: rate limit reached`, status, retryAfterMs(), { rateLimited: true });
    }
    // The Location is not copied into the message: it is the platform's text, not ours.
    if (status >= 300 && status < 400) return new KoreRedirectError(`Kore.ai ${op} answered a redirect (${status}); redirects are not followed`, status);
    if (status === 408 || status >= 500) return new KoreRetryableError(`Kore.ai ${op} answered ${status}`, status, retryAfterMs());
    const message = platformMessageOf(answer.text);
    if (op === 'getSessions' && (status === 403 || (status === 401 && message !== undefined && /\bscope/i.test(message)))) {
      return new KoreScopeMissingError(`Kore.ai ${op} refused: the app lacks the Bot Sessions scope (${status})`, status);
    }
    if (status === 401 || status === 403) return new KoreAuthError(`Kore.ai ${op} did not accept the credentials (${status})`, status);
    if (op === 'eraseUsersData' && status >= 400 && status < 500 && message !== undefined && REFUSAL_PATTERN.test(message)) {
      return new KoreRefusedError(`Kore.ai refused the erasure under its owner/co-developer rules (${status})`, status);
    }
    const sanitised = message === undefined ? undefined : sanitisePlatformMessage(message);
    return new KorePermanentError(`Kore.ai ${op} answered ${status}`, status, sanitised);
  }

  #parse<T>(op: Operation, answer: Answer, schema: z.ZodMiniType<T>): T {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw new KorePermanentError(`Kore.ai ${op} answered ${answer.status} with a body that is not JSON`, answer.status);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      // Paths only: the values may be personal data.
      const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.') || '(root)'))].slice(0, 5).join(', ');
      throw new KorePermanentError(`Kore.ai ${op} answered ${answer.status} with an unexpected shape at ${fields}`, answer.status);
    }
    return parsed.data;
  }
}

const SAFE_CODE = /^[A-Z][A-Z0-9_]{1,40}$/;

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SAFE_CODE.test(code)) return code;
  }
  return undefined;
}

/**
 * Anything thrown by fetch or while reading the body. Reads are simply tried again. A DELETE is
 * retryable only when nothing was sent (connection refused, host unknown); otherwise the platform
 * may have created the job and the outcome is unknown. `status` is set when the headers arrived
 * and the body was lost: the answer itself is then lost too.
 */
function transportError(op: Operation, error: unknown, status: number | undefined): KoreRetryableError | KoreOutcomeUnknownError {
  const name = (error as { name?: unknown })?.name;
  const timedOut = name === 'TimeoutError' || name === 'AbortError';
  const code = errorCode(error);
  const what = timedOut ? 'timed out' : `failed without an answer (${code ?? 'network error'})`;
  const notSent = status === undefined && !timedOut && code !== undefined && NOT_SENT_CODES.has(code);
  if (op === 'eraseUsersData' && !notSent) {
    return new KoreOutcomeUnknownError(`Kore.ai ${op} ${what} after the request may have been received`, { cause: error });
  }
  return new KoreRetryableError(`Kore.ai ${op} ${what}`, undefined, undefined, { cause: error });
}
