/**
 * A Kore.ai XO Platform simulator on `node:http`: the four public API calls the erasure desk
 * uses (erase, erase status, user roles, sessions history — the last in sessions.ts), the platform's JWT check, its owner/co-developer
 * refusals, erase jobs that finish after a while, and injectable faults (429, 500, slow answers,
 * dropped connections, 307 redirects to another origin). Everything it receives is recorded so tests can prove, for instance,
 * that an erasure was accepted exactly once.
 *
 * Admin routes under `/__sim/` (no auth, never faulted, not recorded): `GET /__sim/health`,
 * `GET /__sim/calls`, `POST /__sim/faults` (JSON, merged over the current faults; `GET` shows
 * them), `POST /__sim/reset` (clears calls and jobs), `POST /__sim/sessions` (adds a session:
 * `{userId, botId, startTime?}`).
 *
 * It follows docs/kore-platform.md: what the platform documents (the JWT rules: `appId` and
 * `sub` required, a `jti` never accepted twice and, with a `jti`, `exp` at most an hour ahead;
 * the documented answer shapes; batches of `userIds` with a per-user `response[]`; per-account
 * rate limits with the documented message) and, where the platform is silent, the choices that
 * file lists as assumptions: `limit` defaults to 50 and is capped at 50; errors are
 * `{"errors":[{"msg","code"}]}` unless a fault mode picks another shape; unknown bot ids are a 400
 * unless `RemoveDataFromAllBots` is true; one privileged id refuses the whole batch.
 *
 * The rate limits are on by default (the documented 60 a minute and 1,800 an hour); their
 * windows can be compressed for tests (`minuteMs`, `hourMs`), and `rateLimits: false` turns them
 * off for a test that is about something else and makes more calls than an account may.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { z } from 'zod';
import type { KoreRoleUser } from '../../../functions/domain/kore';
import { buildAccount, type AccountSpec, type RefusalReason, type SimAccount } from './account';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET } from './credentials';
import { seededRandom, type Random } from './random';
import { SimSessions } from './sessions';
import { refuseForeignHost } from '../host-check';

export const ERASE_ROUTE = '/api/public/bot/eraseUsersData';
export const ERASE_STATUS_ROUTE = '/api/public/bot/eraseUsersData/status/:reqId';
export const USER_ROLES_ROUTE = '/api/public/alluserroles';
export const SESSIONS_ROUTE = '/api/public/getSessions';
/** Largest `limit` the sessions route honours, and its default (assumptions: not documented). */
export const SESSIONS_LIMIT_CAP = 100;
export const SESSIONS_DEFAULT_LIMIT = 50;
/** The refusal of a call the app has no scope for (shape and wording are assumptions). */
export const SCOPE_MISSING_MESSAGE = 'You do not have the permission to access this API: the app needs the scope Bot Analytics > Bot Sessions';

/** Largest `limit` the user-roles route honours; larger values are capped. */
export const USER_ROLES_LIMIT_CAP = 50;
/** With a `jti`, the token must expire within this many seconds of its use (documented: one hour). */
export const MAX_JTI_TOKEN_AHEAD_SECONDS = 3600;

/** The documented answer of a call over the rate limit ("Rate Limits"; the community article adds the second sentence). */
export const RATE_LIMIT_MESSAGE = 'Rate limit for this API has been reached. Please try again later';

/** The documented per-account limits of admin-console public APIs. */
export const DOCUMENTED_RATE_LIMITS = { perMinute: 60, perHour: 1800 } as const;

export interface SimRateLimits {
  perMinute: number;
  perHour: number;
  /** Length of the "minute" window (default 60,000 ms; less compresses the clock for tests). */
  minuteMs: number;
  /** Length of the "hour" window (default 3,600,000 ms). */
  hourMs: number;
  /** HTTP status of a refusal; not documented, 429 assumed. */
  status: number;
  /** Sent as `Retry-After` when set; the platform documents none. */
  retryAfterSeconds?: number;
}

/** How a refusal under the owner/co-developer rules is shaped; the platform documents none. */
export const REFUSAL_SHAPES = ['errors-msg', 'message', 'error-object', 'plain-text'] as const;
export type RefusalShape = (typeof REFUSAL_SHAPES)[number];

export interface SimFaults {
  /** Share of API calls answered 429 with `Retry-After: retryAfterSeconds`. */
  rate429: number;
  /** Share of API calls answered 500. */
  rate500: number;
  /** Share of API calls delayed by `slowMs` before they are handled. */
  rateSlow: number;
  slowMs: number;
  /** Share of API calls whose connection is destroyed without an answer, before handling. */
  rateDrop: number;
  /**
   * Share of API calls answered `307 Temporary Redirect` to `redirectTo` + the call's path and
   * query, as a moved tenant or a misconfigured proxy would: a client that follows it re-sends
   * the method, the body and its headers (the `auth` token) to that origin.
   */
  rate307: number;
  /** Absolute http(s) URL the 307 fault points at; required when `rate307` > 0. */
  redirectTo: string;
  retryAfterSeconds: number;
  /** Seed of the fault draws; setting it restarts the sequence. */
  seed: number;
  /**
   * When not empty, every per-user status of every status answer is this word (e.g. `QUEUED`):
   * a status word the desk has never seen. The platform documents only `SUCCESS`.
   */
  unknownStatus: string;
  /** The shape of owner/co-developer refusals (default `errors-msg`: `{"errors":[{"msg","code"}]}`). */
  refusalShape: RefusalShape;
  /**
   * `varied`: user-roles answers show admin-role entries in several shapes (extra fields, plain
   * strings, nested objects), as an undocumented shape may turn out to be. Default `plain`.
   */
  adminRoleShapes: 'plain' | 'varied';
  /** Jobs created while on end SUCCESS but leave the users' sessions in place (a platform that says it erased and did not). */
  sessionsLeftBehind: boolean;
  /** The app lacks the Sessions scope: getSessions answers 403 with {@link SCOPE_MISSING_MESSAGE}. */
  sessionsScopeMissing: boolean;
}

export const NO_FAULTS: Readonly<SimFaults> = {
  rate429: 0,
  rate500: 0,
  rateSlow: 0,
  slowMs: 2000,
  rateDrop: 0,
  rate307: 0,
  redirectTo: '',
  retryAfterSeconds: 1,
  seed: 1,
  unknownStatus: '',
  refusalShape: 'errors-msg',
  adminRoleShapes: 'plain',
  sessionsLeftBehind: false,
  sessionsScopeMissing: false,
};

export type SimRoute = typeof ERASE_ROUTE | typeof ERASE_STATUS_ROUTE | typeof USER_ROLES_ROUTE | typeof SESSIONS_ROUTE | 'unknown';

/**
 * What became of a call: `accepted` (erase job created), `refused` (owner/co-developer rules),
 * `ok` (status or user roles answered), the faults, `aborted` (the client left during a slow
 * answer and nothing was processed), `unauthorized`, and — beyond the brief's list —
 * `invalid` (400 on a malformed request) and `not-found` (unknown job or route).
 */
export type SimOutcome =
  | 'accepted'
  | 'refused'
  | 'ok'
  | 'fault-429'
  | 'fault-500'
  | 'fault-307'
  | 'dropped'
  | 'aborted'
  | 'unauthorized'
  | 'replayed'
  | 'rate-limited'
  | 'invalid'
  | 'not-found'
  | 'scope-missing';

export interface SimCall {
  at: string;
  method: string;
  route: SimRoute;
  userIds?: string[];
  botIds?: string[];
  outcome: SimOutcome;
  /** The job created (erase) or asked about (status). */
  jobId?: string;
  /** HTTP status answered; absent for dropped and aborted calls. */
  httpStatus?: number;
  /** The `jti` of the caller's token when it verified: shows which calls shared a token. */
  tokenId?: string;
}

export interface KoreSimulatorOptions {
  /** Default 0 (ephemeral). Always bound to 127.0.0.1. */
  port?: number;
  clientId?: string;
  clientSecret?: string;
  /** `'demo'` (default) or `{ generatedUsers, seed }`. */
  account?: AccountSpec;
  /** Time from DELETE until per-user results appear, default 2000 ms. */
  jobDurationMs?: number;
  /** Ids (emails case-insensitively) that end FAILED. */
  failUsers?: readonly string[];
  /** Share of other users that end FAILED, drawn with `seed`. */
  failRate?: number;
  /** Every job stays in progress forever. */
  neverFinish?: boolean;
  /** These ids (emails case-insensitively) stay in progress forever; the other users of their job finish (each user is answered on its own). */
  neverFinishUsers?: readonly string[];
  faults?: Partial<SimFaults>;
  /** Seed of the `failRate` draws, default 1. */
  seed?: number;
  /** Number of the first job (`eud-<n>`), default 1; the CLI starts from the clock so restarts never reuse ids. */
  firstJobNumber?: number;
  /** Clock in epoch ms (jobs, token expiry, rate-limit windows), default `Date.now`. */
  now?: () => number;
  /**
   * Per-account rate limits: the documented 60 a minute and 1,800 an hour, answered 429 without
   * `Retry-After`, when absent or `true`; fields given override those; `false` turns them off.
   */
  rateLimits?: boolean | Partial<SimRateLimits>;
}

export interface KoreSimulatorConfig {
  clientId: string;
  clientSecret: string;
  jobDurationMs: number;
  failUsers: readonly string[];
  failRate: number;
  neverFinish: boolean;
  neverFinishUsers: readonly string[];
  faults: Readonly<SimFaults>;
  /** Undefined when the simulator enforces no rate limit. */
  rateLimits: Readonly<SimRateLimits> | undefined;
}

export interface KoreSimulator {
  /** `http://127.0.0.1:<port>`, the `baseUrl` of a client. */
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Every API call received so far, oldest first (copies). */
  calls(): SimCall[];
  /** The configuration in force (faults as currently set). */
  readonly config: Readonly<KoreSimulatorConfig>;
  /** Merges `faults` over the current ones; returns the result. @throws Error on invalid rates. */
  setFaults(faults: Partial<SimFaults>): SimFaults;
  /** Replaces the ids whose erasure ends FAILED (jobs created from now on). */
  setFailUsers(ids: readonly string[]): void;
  account: SimAccount;
  /** The sessions the Sessions History API reads (per user and bot). */
  sessions: SimSessions;
}

const rate = z.number().min(0).max(1);
const faultsObject = z.object({
    rate429: rate,
    rate500: rate,
    rateSlow: rate,
    slowMs: z.number().int().min(0).max(600_000),
    rateDrop: rate,
    rate307: rate,
    redirectTo: z.union([z.literal(''), z.url({ protocol: /^https?$/ }).max(2000)]),
    retryAfterSeconds: z.number().int().min(0).max(86_400),
    seed: z.number().int(),
    unknownStatus: z.string().max(100),
    refusalShape: z.enum(REFUSAL_SHAPES),
    adminRoleShapes: z.enum(['plain', 'varied']),
    sessionsLeftBehind: z.boolean(),
    sessionsScopeMissing: z.boolean(),
});
const faultsSchema = faultsObject
  .refine((f) => f.rate429 + f.rate500 + f.rateSlow + f.rateDrop + f.rate307 <= 1, {
    message: 'fault rates add up to more than 1',
  })
  .refine((f) => f.rate307 === 0 || f.redirectTo !== '', { message: 'rate307 needs redirectTo' });
const faultsPatchSchema = faultsObject.partial().strict();

const rateLimitsSchema = z.object({
  perMinute: z.number().int().min(1).max(1_000_000),
  perHour: z.number().int().min(1).max(1_000_000),
  minuteMs: z.number().int().min(1).max(3_600_000),
  hourMs: z.number().int().min(1).max(86_400_000),
  status: z.number().int().min(400).max(599),
  retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
});

// No maximum count of userIds is documented; the 1 MB body limit bounds a batch.
const eraseBodySchema = z.object({
  userIds: z.array(z.string().min(1).max(320)).min(1),
  botIds: z.array(z.string().min(1).max(100)).max(100).optional(),
  RemoveDataFromAllBots: z.boolean().optional(),
});

const REFUSAL_MESSAGES: Record<RefusalReason, string> = {
  'account-owner': 'Delete user data is not allowed: the user is an account owner',
  'account-member': 'Delete user data is not allowed: the user belongs to one or more accounts',
  'bot-owner': 'Delete user data is not allowed: the user is the bot owner of one or more bots',
  'co-developer': 'Delete user data is not allowed: the user is a co-developer of one or more bots',
};
const REFUSAL_ORDER: RefusalReason[] = ['account-owner', 'bot-owner', 'co-developer', 'account-member'];

// Dates as the page documents them: `yyyy-mm-dd` or an ISO time.
const sessionDate = z.string().max(40).regex(/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/);
const sessionsBodySchema = z.object({
  userId: z.string().min(1).max(320).optional(),
  skip: z.number().int().min(0).optional(),
  offset: z.number().int().min(0).optional(),
  limit: z.number().int().min(1).optional(),
  dateFrom: sessionDate.optional(),
  dateTo: sessionDate.optional(),
});

interface Job {
  id: string;
  createdOn: number;
  /** Undefined: never finishes. */
  finishesAt: number | undefined;
  removeAll: boolean;
  botIds: string[];
  /** Created under the `sessionsLeftBehind` fault: its end removes no session. */
  leaveBehind: boolean;
  /** Its end has been applied to the sessions. */
  settled: boolean;
  results: { userId: string; status: 'SUCCESS' | 'FAILED'; stuck?: true }[];
}

const MAX_BODY_BYTES = 1_048_576;

class BadRequest extends Error {}

const idKey = (id: string) => (id.includes('@') ? id.trim().toLowerCase() : id);

function rateLimitsOf(option: KoreSimulatorOptions['rateLimits']): SimRateLimits | undefined {
  if (option === false) return undefined;
  const parsed = rateLimitsSchema.safeParse({ ...DOCUMENTED_RATE_LIMITS, minuteMs: 60_000, hourMs: 3_600_000, status: 429, ...(option === true || option === undefined ? {} : option) });
  if (!parsed.success) throw new Error(`Invalid simulator rate limits: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  return parsed.data;
}

/** Index of the first element of ascending `sorted` that is ≥ `value`. */
function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A user-roles record whose admin-role entries come in several shapes: the documented sample's
 * `{roleId, roleName}` with extra fields, a plain string, an object naming the role under another
 * key. Every user gets at least one entry, so a page always shows the variety.
 */
function withVariedAdminRoles(user: KoreRoleUser, index: number): unknown {
  const entries: unknown[] = (user.adminRoles ?? []).map((r) => ({ ...r, _id: r.roleId, permissions: { users: ['view'] } }));
  const shapes: unknown[] = ['Bot Admin', { role: { id: 'r-billing', name: 'Billing Admin' } }, { _id: 'r-audit', name: 'Audit Admin', scope: 'account' }];
  entries.push(shapes[index % shapes.length]);
  return { ...user, adminRoles: entries };
}

function validFaults(faults: SimFaults): SimFaults {
  const parsed = faultsSchema.safeParse(faults);
  if (!parsed.success) throw new Error(`Invalid simulator faults: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  return parsed.data;
}

/**
 * Starts a simulator on 127.0.0.1 and resolves once it listens.
 * @throws Error on invalid options (fault rates, account size) or when the port is taken.
 */
export async function startKoreSimulator(options: KoreSimulatorOptions = {}): Promise<KoreSimulator> {
  const now = options.now ?? Date.now;
  const account = buildAccount(options.account ?? 'demo');
  const clientId = options.clientId ?? DEV_KORE_CLIENT_ID;
  const clientSecret = options.clientSecret ?? DEV_KORE_CLIENT_SECRET;
  const key = new TextEncoder().encode(clientSecret);
  const jobDurationMs = options.jobDurationMs ?? 2000;
  const failRate = options.failRate ?? 0;
  if (!(jobDurationMs >= 0) || !(failRate >= 0 && failRate <= 1)) throw new Error('Invalid simulator options: jobDurationMs or failRate');
  const failUsers = new Set((options.failUsers ?? []).map(idKey));
  const neverFinishUsers = new Set((options.neverFinishUsers ?? []).map(idKey));
  const jobRandom = seededRandom(options.seed ?? 1);

  let faults = validFaults({ ...NO_FAULTS, ...options.faults });
  const rateLimits = rateLimitsOf(options.rateLimits);
  /** Times (epoch ms) of the calls counted against the account's limits in the last "hour" window. */
  const counted: number[] = [];
  /** Every `jti` accepted so far, with its expiry (epoch s): replays are refused until then. */
  const seenJtis = new Map<string, number>();
  let lastJtiPrune = 0;
  let faultRandom: Random = seededRandom(faults.seed);
  let nextJob = options.firstJobNumber ?? 1;
  let stopped = false;
  const jobs = new Map<string, Job>();
  const sessions = new SimSessions(now());
  const calls: SimCall[] = [];
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  const setFaults = (update: Partial<SimFaults>): SimFaults => {
    const next = validFaults({ ...faults, ...update });
    if (update.seed !== undefined || next.seed !== faults.seed) faultRandom = seededRandom(next.seed);
    faults = next;
    return { ...faults };
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const sleeper = { timer: setTimeout(() => (sleepers.delete(sleeper), resolve()), ms), resolve };
      sleepers.add(sleeper);
    });

  const record = (call: Omit<SimCall, 'at'>) => {
    calls.push({ at: new Date(now()).toISOString(), ...call });
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.destroyed || res.headersSent) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };
  const errorBody = (msg: string, code: number | string) => ({ errors: [{ msg, code }] });

  /**
   * The documented JWT rules: HS256 with the client secret, `appId` = client id, `sub` present;
   * with a `jti`, `exp` no more than an hour ahead and the `jti` never seen before. `iat`/`exp`
   * are required here (an assumption: the pages list them among the claims).
   */
  async function verifyToken(req: IncomingMessage): Promise<{ ok: true; tokenId?: string } | { ok: false; replayed?: true; msg: string }> {
    const header = req.headers.auth;
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) return { ok: false, msg: 'auth header is missing' };
    try {
      const nowMs = now();
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['HS256'],
        requiredClaims: ['iat', 'exp', 'sub'],
        currentDate: new Date(nowMs),
      });
      if (payload.appId !== clientId) return { ok: false, msg: 'Failed to authenticate token: unknown app' };
      if (typeof payload.jti !== 'string') return { ok: true };
      const nowS = Math.floor(nowMs / 1000);
      if (payload.exp! > nowS + MAX_JTI_TOKEN_AHEAD_SECONDS) return { ok: false, msg: 'Failed to authenticate token: expiry more than an hour ahead' };
      // Expired tokens cannot come back: forget their jti (at most once a second, the map can be large).
      if (nowS > lastJtiPrune) {
        lastJtiPrune = nowS;
        for (const [jti, exp] of seenJtis) if (exp < nowS) seenJtis.delete(jti);
      }
      if (seenJtis.has(payload.jti)) return { ok: false, replayed: true, msg: 'Failed to authenticate token: jti already used' };
      seenJtis.set(payload.jti, payload.exp!);
      return { ok: true, tokenId: payload.jti };
    } catch {
      return { ok: false, msg: 'Failed to authenticate token' };
    }
  }

  /** Counts this call against the account's limits; false when a limit is reached (the call is then not counted). */
  function withinRateLimits(): boolean {
    if (!rateLimits) return true;
    const t = now();
    while (counted.length > 0 && counted[0]! <= t - rateLimits.hourMs) counted.shift();
    const lastMinute = counted.length - lowerBound(counted, t - rateLimits.minuteMs + 1);
    if (lastMinute >= rateLimits.perMinute || counted.length >= rateLimits.perHour) return false;
    counted.push(t);
    return true;
  }

  function refusal(res: ServerResponse, msg: string) {
    const shape = faults.refusalShape;
    if (shape === 'plain-text') {
      if (res.destroyed || res.headersSent) return;
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(msg)) });
      return res.end(msg);
    }
    const body = shape === 'message' ? { message: msg } : shape === 'error-object' ? { error: { code: 'UserDeletionNotAllowed', message: msg } } : errorBody(msg, 'UserDeletionNotAllowed');
    send(res, 400, body);
  }

  /** Applies the end of every finished job to the sessions: a user erased SUCCESS loses their sessions in the job's bots. */
  function settleJobs() {
    const t = now();
    for (const job of jobs.values()) {
      if (job.settled || job.finishesAt === undefined || t < job.finishesAt) continue;
      job.settled = true;
      if (job.leaveBehind) continue;
      // A user who never finishes keeps their sessions, as their erasure never ended.
      for (const r of job.results) if (r.status === 'SUCCESS' && !r.stuck) sessions.remove(r.userId, job.removeAll ? 'all' : job.botIds);
    }
  }

  function handleSessions(res: ServerResponse, rawBody: string, base: Omit<SimCall, 'at' | 'outcome'>) {
    if (faults.sessionsScopeMissing) {
      send(res, 403, errorBody(SCOPE_MISSING_MESSAGE, 403));
      return record({ ...base, outcome: 'scope-missing', httpStatus: 403 });
    }
    let json: unknown = {};
    if (rawBody.trim() !== '') {
      try {
        json = JSON.parse(rawBody);
      } catch {
        throw new BadRequest('Body must be JSON');
      }
    }
    const parsed = sessionsBodySchema.safeParse(json);
    if (!parsed.success) throw new BadRequest(`Invalid ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
    const body = parsed.data;
    settleJobs();
    const day = (value: string, end: boolean) => (value.length === 10 ? Date.parse(`${value}T00:00:00.000Z`) + (end ? 86_400_000 - 1 : 0) : Date.parse(value));
    // Documented defaults: dateTo today, dateFrom 7 days before dateTo.
    const to = body.dateTo ? day(body.dateTo, true) : now();
    const from = body.dateFrom ? day(body.dateFrom, false) : to - 7 * 86_400_000;
    if (!Number.isFinite(from) || !Number.isFinite(to) || from > to) throw new BadRequest('dateFrom must be a date before dateTo');
    const skip = body.skip ?? body.offset ?? 0;
    const limit = Math.min(body.limit ?? SESSIONS_DEFAULT_LIMIT, SESSIONS_LIMIT_CAP);
    if (body.userId) base.userIds = [body.userId];
    const page = body.userId ? sessions.query(body.userId, from, to, skip, limit) : { sessions: [], total: 0 };
    send(res, 200, {
      total: page.total,
      moreAvailable: skip + page.sessions.length < page.total,
      sessions: page.sessions.map((x) => ({
        sessionId: x.sessionId,
        botId: x.botId,
        userId: x.userId,
        start_time: new Date(x.startTime).toISOString(),
        end_time: new Date(x.startTime + 300_000).toISOString(),
        sessionType: 'interactive',
        containmentType: 'selfService',
      })),
    });
    record({ ...base, outcome: 'ok', httpStatus: 200 });
  }

  function jobStatusBody(job: Job) {
    const finished = job.finishesAt !== undefined && now() >= job.finishesAt;
    return {
      _id: job.id,
      createdOn: new Date(job.createdOn).toISOString(),
      lastUpdatedOn: new Date(finished ? job.finishesAt! : job.createdOn).toISOString(),
      RemoveDataFromAllBots: job.removeAll,
      response: job.results.map((r) => ({ userId: r.userId, status: faults.unknownStatus || (finished && !r.stuck ? r.status : 'in-progress') })),
    };
  }

  function handleErase(res: ServerResponse, body: z.infer<typeof eraseBodySchema>, base: Omit<SimCall, 'at' | 'outcome'>) {
    const removeAll = body.RemoveDataFromAllBots === true;
    if (!removeAll && (body.botIds ?? []).length === 0) {
      send(res, 400, errorBody('botIds is required unless RemoveDataFromAllBots is true', 400));
      return record({ ...base, outcome: 'invalid', httpStatus: 400 });
    }
    if (!removeAll && body.botIds!.some((botId) => !account.hasBot(botId))) {
      send(res, 400, errorBody('Invalid botId', 400));
      return record({ ...base, outcome: 'invalid', httpStatus: 400 });
    }
    const reasons = new Set(body.userIds.map((id) => account.refusalOf(id)).filter((r): r is RefusalReason => r !== undefined));
    const reason = REFUSAL_ORDER.find((r) => reasons.has(r));
    if (reason) {
      refusal(res, REFUSAL_MESSAGES[reason]);
      return record({ ...base, outcome: 'refused', httpStatus: 400 });
    }
    const createdOn = now();
    const never = options.neverFinish === true;
    const botIds = removeAll ? account.bots.map((b) => b.botId) : [...body.botIds!];
    // A user being erased has talked to the bots: seeded the first time an erase names them.
    for (const userId of body.userIds) sessions.seed(userId, botIds, createdOn);
    const job: Job = {
      id: `eud-${nextJob++}`,
      createdOn,
      finishesAt: never ? undefined : createdOn + jobDurationMs,
      removeAll,
      botIds,
      leaveBehind: faults.sessionsLeftBehind,
      settled: false,
      results: body.userIds.map((userId) => {
        const draw = jobRandom();
        return { userId, status: failUsers.has(idKey(userId)) || draw < failRate ? 'FAILED' : 'SUCCESS', ...(neverFinishUsers.has(idKey(userId)) ? { stuck: true as const } : {}) };
      }),
    };
    jobs.set(job.id, job);
    send(res, 200, { requestId: job.id, status: 'in-progress' });
    record({ ...base, outcome: 'accepted', httpStatus: 200, jobId: job.id });
  }

  function handleUserRoles(res: ServerResponse, url: URL, base: Omit<SimCall, 'at' | 'outcome'>) {
    const int = (name: string, fallback: number) => {
      const raw = url.searchParams.get(name);
      if (raw === null || raw === '') return fallback;
      if (!/^\d+$/.test(raw)) throw new BadRequest(`${name} must be a non-negative integer`);
      return Number(raw);
    };
    const limit = Math.min(int('limit', USER_ROLES_LIMIT_CAP), USER_ROLES_LIMIT_CAP);
    const offset = int('offset', 0);
    if (limit < 1) throw new BadRequest('limit must be at least 1');
    const page = account.users.slice(offset, offset + limit);
    const users = faults.adminRoleShapes === 'varied' ? page.map(withVariedAdminRoles) : page;
    send(res, 200, { total: account.users.length, availableMore: offset + users.length < account.users.length, users });
    record({ ...base, outcome: 'ok', httpStatus: 200 });
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, route: SimRoute, rawBody: string) {
    const method = req.method ?? 'GET';
    const base: Omit<SimCall, 'at' | 'outcome'> = { method, route };
    let eraseBody: z.infer<typeof eraseBodySchema> | undefined;
    let invalid: string | undefined;
    if (route === ERASE_ROUTE) {
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        invalid = 'Body must be JSON';
      }
      const parsed = eraseBodySchema.safeParse(json);
      if (parsed.success) {
        eraseBody = parsed.data;
        base.userIds = [...parsed.data.userIds];
        if (parsed.data.botIds) base.botIds = [...parsed.data.botIds];
      } else invalid ??= 'userIds must be a non-empty array of ids; botIds an array of bot ids';
    }
    if (route === ERASE_STATUS_ROUTE) base.jobId = decodeURIComponent(url.pathname.slice(ERASE_ROUTE.length + '/status/'.length));

    // Faults come first, as a gateway or an overloaded platform would produce them.
    const draw = faultRandom();
    const f = faults;
    if (draw < f.rateDrop) {
      record({ ...base, outcome: 'dropped' });
      req.socket.destroy();
      return;
    }
    if (draw < f.rateDrop + f.rate429) {
      send(res, 429, errorBody('Too many requests', 429), { 'retry-after': String(f.retryAfterSeconds) });
      return record({ ...base, outcome: 'fault-429', httpStatus: 429 });
    }
    if (draw < f.rateDrop + f.rate429 + f.rate500) {
      send(res, 500, errorBody('Internal server error', 500));
      return record({ ...base, outcome: 'fault-500', httpStatus: 500 });
    }
    if (draw < f.rateDrop + f.rate429 + f.rate500 + f.rate307) {
      const location = f.redirectTo.replace(/\/+$/, '') + url.pathname + url.search;
      send(res, 307, errorBody('Moved', 307), { location });
      return record({ ...base, outcome: 'fault-307', httpStatus: 307 });
    }
    if (draw < f.rateDrop + f.rate429 + f.rate500 + f.rate307 + f.rateSlow) {
      let gone = false;
      res.once('close', () => {
        if (!res.writableFinished) gone = true;
      });
      await sleep(f.slowMs);
      // A client that gave up (timeout) must not have its request processed behind its back.
      if (gone || stopped || req.socket.destroyed || res.destroyed) {
        return record({ ...base, outcome: 'aborted' });
      }
    }

    // Every call that reaches the platform counts, answered or refused; only calls over the limit do not.
    if (!withinRateLimits()) {
      send(res, rateLimits!.status, errorBody(RATE_LIMIT_MESSAGE, rateLimits!.status), rateLimits!.retryAfterSeconds === undefined ? {} : { 'retry-after': String(rateLimits!.retryAfterSeconds) });
      return record({ ...base, outcome: 'rate-limited', httpStatus: rateLimits!.status });
    }

    const auth = await verifyToken(req);
    if (!auth.ok) {
      send(res, 401, errorBody(auth.msg, 401));
      return record({ ...base, outcome: auth.replayed ? 'replayed' : 'unauthorized', httpStatus: 401 });
    }
    if (auth.tokenId) base.tokenId = auth.tokenId;

    try {
      if (route === ERASE_ROUTE) {
        if (!eraseBody) throw new BadRequest(invalid ?? 'Invalid body');
        return handleErase(res, eraseBody, base);
      }
      if (route === ERASE_STATUS_ROUTE) {
        const job = jobs.get(base.jobId!);
        if (!job) {
          send(res, 404, errorBody('Request not found', 404));
          return record({ ...base, outcome: 'not-found', httpStatus: 404 });
        }
        settleJobs();
        send(res, 200, jobStatusBody(job));
        return record({ ...base, outcome: 'ok', httpStatus: 200 });
      }
      if (route === SESSIONS_ROUTE) return handleSessions(res, rawBody, base);
      return handleUserRoles(res, url, base);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      send(res, 400, errorBody(error.message, 400));
      return record({ ...base, outcome: 'invalid', httpStatus: 400 });
    }
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, rawBody: string) {
    const method = req.method ?? 'GET';
    if (path === '/__sim/health' && method === 'GET') return send(res, 200, { status: 'ok', users: account.users.length, jobs: jobs.size, calls: calls.length });
    if (path === '/__sim/calls' && method === 'GET') return send(res, 200, { calls });
    if (path === '/__sim/reset' && method === 'POST') {
      calls.length = 0;
      jobs.clear();
      return send(res, 204, undefined);
    }
    if (path === '/__sim/faults' && method === 'GET') return send(res, 200, faults);
    if (path === '/__sim/sessions' && method === 'POST') {
      let raw: unknown;
      try {
        raw = JSON.parse(rawBody || '{}');
      } catch {
        return send(res, 400, errorBody('Body must be JSON', 400));
      }
      const added = z.object({ userId: z.string().min(1).max(320), botId: z.string().min(1).max(100), startTime: z.string().datetime().optional() }).safeParse(raw);
      if (!added.success) return send(res, 400, errorBody('userId and botId are required', 400));
      const session = sessions.add(added.data.userId, added.data.botId, added.data.startTime ? Date.parse(added.data.startTime) : now() - 86_400_000);
      return send(res, 201, session);
    }
    if (path === '/__sim/faults' && method === 'POST') {
      try {
        const update = faultsPatchSchema.safeParse(JSON.parse(rawBody || '{}'));
        if (!update.success) return send(res, 400, errorBody(`Invalid faults: ${update.error.issues.map((i) => i.path.join('.') || i.message).join(', ')}`, 400));
        return send(res, 200, setFaults(update.data));
      } catch (error) {
        return send(res, 400, errorBody(error instanceof SyntaxError ? 'Body must be JSON' : (error as Error).message, 400));
      }
    }
    return send(res, 404, errorBody('Not found', 404));
  }

  function routeOf(method: string, path: string): SimRoute | 'method-not-allowed' {
    if (path === ERASE_ROUTE) return method === 'DELETE' ? ERASE_ROUTE : 'method-not-allowed';
    if (path.startsWith(`${ERASE_ROUTE}/status/`) && path.length > ERASE_ROUTE.length + 8 && !path.slice(ERASE_ROUTE.length + 8).includes('/')) {
      return method === 'GET' ? ERASE_STATUS_ROUTE : 'method-not-allowed';
    }
    if (path === USER_ROLES_ROUTE) return method === 'GET' ? USER_ROLES_ROUTE : 'method-not-allowed';
    if (path === SESSIONS_ROUTE) return method === 'POST' ? SESSIONS_ROUTE : 'method-not-allowed';
    return 'unknown';
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    // Its call list holds user ids and its admin routes need no token: no DNS-rebinding page may reach them.
    if (refuseForeignHost(req, res)) return;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) return send(res, 413, errorBody('Payload too large', 413), { connection: 'close' });
      chunks.push(chunk);
    }
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    if (url.pathname.startsWith('/__sim/')) return handleAdmin(req, res, url.pathname, rawBody);
    const route = routeOf(method, url.pathname);
    if (route === 'method-not-allowed') {
      send(res, 405, errorBody('Method not allowed', 405));
      return record({ method, route: 'unknown', outcome: 'invalid', httpStatus: 405 });
    }
    if (route === 'unknown') {
      send(res, 404, errorBody('Not found', 404));
      return record({ method, route, outcome: 'not-found', httpStatus: 404 });
    }
    return handleApi(req, res, url, route, rawBody);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // Nothing internal reaches the caller.
      send(res, 500, errorBody('Internal server error', 500));
    });
  });
  // Closed sockets while a request is pending are expected (timeouts, drops); never crash on them.
  server.on('clientError', (_error, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    account,
    sessions,
    calls: () => calls.map((c) => ({ ...c, ...(c.userIds && { userIds: [...c.userIds] }), ...(c.botIds && { botIds: [...c.botIds] }) })),
    setFaults,
    setFailUsers: (ids) => {
      failUsers.clear();
      for (const id of ids) failUsers.add(idKey(id));
    },
    get config(): KoreSimulatorConfig {
      return {
        clientId,
        clientSecret,
        jobDurationMs,
        failUsers: [...failUsers],
        failRate,
        neverFinish: options.neverFinish === true,
        neverFinishUsers: [...neverFinishUsers],
        faults: { ...faults },
        rateLimits: rateLimits && { ...rateLimits },
      };
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      for (const sleeper of sleepers) {
        clearTimeout(sleeper.timer);
        sleeper.resolve();
      }
      sleepers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
