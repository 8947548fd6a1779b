/**
 * The Kore.ai XO Platform over HTTP: the one adapter that talks to the platform's public API.
 *
 * Every call sends `auth: <JWT>`, a token signed HS256 with the app's client secret whose
 * `appId` claim is the client id. Answers are validated before they reach the domain, and every
 * failure is translated into one of the named errors of `domain/kore` so the workflow's
 * `Retry`/`Catch` can match by name. No message built here carries a user id, an email, a
 * request body or a token.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { z } from 'zod';
import {
  KoreAuthError,
  KorePermanentError,
  KoreRedirectError,
  KoreRefusedError,
  KoreRetryableError,
  type KoreEraseAccepted,
  type KoreEraseStatus,
  type KorePlatform,
  type KoreUserRolesPage,
} from '../../domain/kore';
import { systemClock, type Clock } from '../../domain/ports';

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
  /** Injected for tests; default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Injected for tests; drives `iat`/`exp`, token reuse and `Retry-After` dates. */
  clock?: Clock;
}

/** A token is reused until this many seconds before its expiry (or half its lifetime if shorter). */
export const TOKEN_REFRESH_MARGIN_SECONDS = 60;

/**
 * The default whole-call budget of one Kore.ai call. The stack sizes each task Lambda's timeout
 * to cover it (infra/constructs/functions.ts), so a call never outlives the function making it.
 */
export const DEFAULT_KORE_TIMEOUT_MS = 10_000;

export const ERASE_PATH = '/api/public/bot/eraseUsersData';
export const ERASE_STATUS_PATH = '/api/public/bot/eraseUsersData/status/';
export const USER_ROLES_PATH = '/api/public/alluserroles';

const optionsSchema = z.object({
  baseUrl: z.url({ protocol: /^https?$/ }),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  timeoutMs: z.number().int().positive().max(300_000).default(DEFAULT_KORE_TIMEOUT_MS),
  tokenTtlSeconds: z.number().int().min(1).max(3600).default(300),
});

const eraseAcceptedSchema = z.object({
  requestId: z.string().min(1),
  status: z.string(),
});

const eraseStatusSchema = z.object({
  _id: z.string().min(1),
  createdOn: z.string().optional(),
  lastUpdatedOn: z.string().optional(),
  RemoveDataFromAllBots: z.boolean().optional(),
  // A job that has not produced per-user results yet may answer without `response`.
  response: z.array(z.object({ userId: z.string(), status: z.string() })).optional(),
});

const roleUserSchema = z.object({
  username: z.string().optional(),
  emailId: z.string().optional(),
  orgUserId: z.string().optional(),
  accountId: z.string().optional(),
  isDeveloper: z.boolean().optional(),
  canCreateBot: z.boolean().optional(),
  userId: z.string().min(1),
  btRoles: z
    .array(
      z.object({
        roleId: z.string(),
        roleName: z.string(),
        botId: z.string(),
        botName: z.string().optional(),
        groups: z.array(z.unknown()).optional(),
      }),
    )
    .optional(),
  adminRoles: z.array(z.object({ roleId: z.string().optional(), roleName: z.string() })).optional(),
});

const userRolesPageSchema = z.object({
  total: z.number().int().nonnegative(),
  availableMore: z.boolean().optional(),
  users: z.array(roleUserSchema),
});

/**
 * Words by which the platform explains a refusal under its owner/co-developer rules ("… is an
 * account owner …", "… belongs to one or more accounts …", "… bot owner or co-developer …").
 */
const REFUSAL_PATTERN = /\b(owner|co-?developer|account member|belongs? to (?:one or more |an? )?accounts?)\b/i;

type Operation = 'eraseUsersData' | 'getEraseStatus' | 'getUserRoles';

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * `KorePlatform` over HTTP with a cached, self-minted JWT.
 *
 * Error classification (the same for every call):
 * - 429, 408, 5xx, network failures (refused/reset connection, socket hang up, `fetch failed`)
 *   and timeouts → `KoreRetryableError` (`httpStatus` when there was an answer, `retryAfterMs`
 *   from `Retry-After` in seconds or as an HTTP-date).
 * - 401 and 403 → `KoreAuthError` (the cached token is dropped so the next call mints anew).
 * - On `eraseUsersData` only: any other 4xx whose body mentions an owner, a co-developer, an
 *   account member or belonging to an account → `KoreRefusedError`. The platform documents the
 *   rules but not the shape of the refusal, so this is a heuristic over the answer text
 *   (`{"errors":[{"msg":…,"code":…}]}` in practice); a refusal that does not use these words
 *   ends as `KorePermanentError`, which the workflow also does not retry.
 * - Any other 4xx, and a 2xx whose body does not have the documented shape → `KorePermanentError`.
 * - Any 3xx → `KoreRedirectError` (permanent). Redirects are never followed (`redirect: 'manual'`):
 *   following one would send the `auth` token, the DELETE and the user ids to wherever the
 *   `Location` points. (`'error'` would make fetch throw a bare TypeError, indistinguishable from a
 *   network failure and so retried; `'manual'` lets the answer be named.)
 */
export class KoreClient implements KorePlatform {
  readonly #baseUrl: string;
  readonly #clientId: string;
  readonly #key: Uint8Array;
  readonly #timeoutMs: number;
  readonly #ttl: number;
  readonly #margin: number;
  readonly #fetch: typeof globalThis.fetch;
  readonly #clock: Clock;
  #token: { jwt: string; exp: number } | undefined;

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
    this.#margin = Math.min(TOKEN_REFRESH_MARGIN_SECONDS, Math.floor(this.#ttl / 2));
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Asks the platform to erase the users' data from `botIds`, or from every bot when `botIds` is
   * empty. The documented body always carries `userIds` and `botIds` (neither is marked optional)
   * and `RemoveDataFromAllBots` is "optional, ignores botIds when true": so an all-bots erasure
   * sends `botIds: []` with `RemoveDataFromAllBots: true`, a scoped one sends the bots without
   * the flag.
   * @throws KoreRefusedError, KoreAuthError, KoreRetryableError, KorePermanentError.
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

  async #authToken(): Promise<string> {
    const now = Math.floor(this.#clock.now().getTime() / 1000);
    if (this.#token && now < this.#token.exp - this.#margin) return this.#token.jwt;
    const exp = now + this.#ttl;
    const jwt = await new SignJWT({ appId: this.#clientId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(this.#key);
    this.#token = { jwt, exp };
    return jwt;
  }

  async #call(op: Operation, method: 'GET' | 'DELETE', pathAndQuery: string, body?: unknown): Promise<Answer> {
    const headers: Record<string, string> = { auth: await this.#authToken(), accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let answer: Answer;
    try {
      // One signal for the whole exchange: it aborts the connect, the wait and the body read,
      // and an abort closes the socket so the platform sees the client go away.
      const signal = AbortSignal.timeout(this.#timeoutMs);
      const response = await this.#fetch(this.#baseUrl + pathAndQuery, {
        method,
        headers,
        signal,
        redirect: 'manual',
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      answer = { status: response.status, headers: response.headers, text: await response.text() };
    } catch (error) {
      throw transportError(op, error);
    }
    if (answer.status >= 200 && answer.status < 300) return answer;
    throw this.#statusError(op, answer);
  }

  #statusError(op: Operation, answer: Answer): Error {
    const { status } = answer;
    // The Location is not copied into the message: it is the platform's text, not ours.
    if (status >= 300 && status < 400) return new KoreRedirectError(`Kore.ai ${op} answered a redirect (${status}); redirects are not followed`, status);
    if (status === 429 || status === 408 || status >= 500) {
      return new KoreRetryableError(
        `Kore.ai ${op} answered ${status}`,
        status,
        parseRetryAfter(answer.headers.get('retry-after'), this.#clock.now()),
      );
    }
    if (status === 401 || status === 403) {
      this.#token = undefined;
      return new KoreAuthError(`Kore.ai ${op} did not accept the credentials (${status})`, status);
    }
    if (op === 'eraseUsersData' && status >= 400 && status < 500 && REFUSAL_PATTERN.test(answer.text)) {
      return new KoreRefusedError(`Kore.ai refused the erasure under its owner/co-developer rules (${status})`, status);
    }
    return new KorePermanentError(`Kore.ai ${op} answered ${status}`, status);
  }

  #parse<T>(op: Operation, answer: Answer, schema: z.ZodType<T>): T {
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

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP-date (a date in the past
 * gives 0). Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at) || !/[a-z]/i.test(trimmed)) return undefined;
  return Math.max(0, at - now.getTime());
}

const SAFE_CODE = /^[A-Z][A-Z0-9_]{1,40}$/;

function errorCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SAFE_CODE.test(code)) return code;
  }
  return undefined;
}

/** Anything thrown by fetch or while reading the body: no answer, so worth trying again. */
function transportError(op: Operation, error: unknown): KoreRetryableError {
  const name = (error as { name?: unknown })?.name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new KoreRetryableError(`Kore.ai ${op} timed out`, undefined, undefined, { cause: error });
  }
  const code = errorCode(error) ?? 'network error';
  return new KoreRetryableError(`Kore.ai ${op} failed without an answer (${code})`, undefined, undefined, { cause: error });
}
