/**
 * Reliability helpers: a raw HTTP client that can speak from any loopback address (so a soak of
 * a thousand submissions looks like a thousand clients to the per-client rate limit, as it would
 * in life), bounded concurrency, the local runtime with its log captured, the Kore.ai simulator's
 * own view of a job, and the checks every part shares (one accepted DELETE per attempt, chains).
 */
import { request as httpRequest } from 'node:http';
import { SignJWT } from 'jose';
import type { LocalRuntimeOptions } from '../../infra/local/runtime';
import { startE2eRuntime, type E2eRuntime } from '../e2e/support';
import { DEV_KORE_CLIENT_ID, DEV_KORE_CLIENT_SECRET, type SimCall } from '../../infra/local/kore-sim';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Convenience: the single value of a header (lower-case name). */
  header(name: string): string | undefined;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Loopback source address (127.x.y.z), so the server sees distinct clients. */
  from?: string;
  timeoutMs?: number;
}

/**
 * One HTTP exchange with node:http: no body re-encoding, no header normalisation beyond Node's,
 * so invalid UTF-8, wrong content types and odd paths reach the server exactly as written.
 * @throws the socket error (connection refused or reset), or a timeout error.
 */
export function raw(url: string, options: RawRequest = {}): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        // The path exactly as given (URL would normalise `..` and re-encode).
        path: url.slice(url.indexOf('/', url.indexOf('//') + 2)) || '/',
        method: options.method ?? 'GET',
        headers: { ...(options.body !== undefined ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}), ...options.headers },
        agent: false,
        ...(options.from ? { localAddress: options.from } : {}),
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers = res.headers as Record<string, string | string[] | undefined>;
          resolve({
            status: res.statusCode ?? 0,
            headers,
            text: Buffer.concat(chunks).toString('utf8'),
            header: (name) => {
              const v = headers[name.toLowerCase()];
              return Array.isArray(v) ? v.join(', ') : v;
            },
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** The i-th distinct client address on loopback (127.20.0.1 …); Linux routes all of 127/8 to lo. */
export function clientAddress(i: number): string {
  return `127.20.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the input order. */
export async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Calls `fn` until it resolves, waiting `everyMs` between tries; bounded by `timeoutMs`. */
export async function retrying<T>(fn: () => Promise<T>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (error) {
      if (Date.now() > until) throw error;
      await sleep(everyMs);
    }
  }
}

export interface ReliabilityRuntime extends E2eRuntime {
  /** Every structured log line the runtime produced, serialised as it would be printed. */
  logLines: string[];
}

/** The in-process local runtime (as the e2e tests start it) with its log captured, not printed. */
export async function startReliabilityRuntime(options: Partial<LocalRuntimeOptions> = {}): Promise<ReliabilityRuntime> {
  const logLines: string[] = [];
  const runtime = await startE2eRuntime({
    log: (entry) => logLines.push(JSON.stringify(entry)),
    ...options,
    simulator: { jobDurationMs: 300, ...(options.simulator ?? {}) },
  });
  return Object.assign(runtime, { logLines });
}

let counter = 0;
/** A fresh end-user address the simulator does not know as privileged. */
export function freshEmail(tag = 'rel'): string {
  counter++;
  return `${tag}-${process.pid}-${Date.now().toString(36)}-${counter}@example.com`;
}

interface OutboxEntry {
  to: string;
  kind: string;
  text: string;
  requestId?: string;
}

/** The outbox over HTTP. */
export async function readOutbox(baseUrl: string): Promise<OutboxEntry[]> {
  const r = await raw(`${baseUrl}/dev/outbox.json`);
  if (r.status !== 200) throw new Error(`outbox answered ${r.status}`);
  return JSON.parse(r.text) as OutboxEntry[];
}

/** The mails of one address (newest first), as that person's inbox would show them. */
export async function inboxOf(baseUrl: string, email: string): Promise<OutboxEntry[]> {
  const r = await raw(`${baseUrl}/dev/outbox.json?to=${encodeURIComponent(email)}`);
  if (r.status !== 200) throw new Error(`outbox answered ${r.status}`);
  return JSON.parse(r.text) as OutboxEntry[];
}

/**
 * What a subject's newest mail about a request gives them: its id, its status link and, in a
 * verification mail, the confirmation link. Submissions answer with neither (by design).
 * @throws when the address got no mail about a request.
 */
export async function mailedRequest(baseUrl: string, email: string): Promise<{ requestId: string; statusUrl: string; verifyUrl?: string }> {
  const mail = (await inboxOf(baseUrl, email)).find((m) => m.requestId);
  const statusUrl = mail?.text.match(/https?:\/\/\S+\/requests\/[\w-]+\?token=[\w.-]+/)?.[0];
  if (!mail?.requestId || !statusUrl) throw new Error('No mail about a request reached that address');
  return { requestId: mail.requestId, statusUrl, verifyUrl: mail.text.match(/https?:\/\/\S+\/verify\?token=[\w.-]+/)?.[0] };
}

/**
 * Confirms as the confirmation page's button does: POSTs the emailed link's token to /verify
 * (opening the link itself only shows that page).
 */
export function confirmLink(link: string, options: Omit<RawRequest, 'method' | 'body'> = {}): Promise<RawResponse> {
  const url = new URL(link);
  return raw(`${url.origin}/verify`, {
    ...options,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(options.headers ?? {}) },
    body: `token=${encodeURIComponent(url.searchParams.get('token') ?? '')}`,
  });
}

/** requestId → verification link, from one read of the outbox. */
export function verificationLinks(mails: OutboxEntry[]): Map<string, string> {
  const links = new Map<string, string>();
  for (const m of mails) {
    if (m.kind !== 'verification' || !m.requestId) continue;
    const link = m.text.match(/https?:\/\/\S+\/verify\?token=[\w.-]+/)?.[0];
    if (link && !links.has(m.requestId)) links.set(m.requestId, link);
  }
  return links;
}

export interface AuditDetail {
  request: { requestId: string; status: string; attempt: number; koreRequestId?: string; failureReason?: string };
  timeline: { seq: number; type: string; status: string; actor: string; attempt: number; at: string; details: Record<string, unknown> }[];
  chain: { ok: boolean; checked: number };
}

export async function auditDetail(baseUrl: string, token: string, requestId: string): Promise<AuditDetail> {
  const r = await raw(`${baseUrl}/audit/requests/${requestId}`, { headers: { authorization: `Bearer ${token}` } });
  if (r.status !== 200) throw new Error(`audit detail answered ${r.status}`);
  return JSON.parse(r.text) as AuditDetail;
}

/** Every request of the audit list (pages of 500), as its list view: id, status, failure reason. */
export async function listAll(baseUrl: string, token: string, query = ''): Promise<{ requestId: string; status: string; failureReason?: string; attempt: number }[]> {
  const out: { requestId: string; status: string; failureReason?: string; attempt: number }[] = [];
  let cursor: string | undefined;
  do {
    const r = await raw(`${baseUrl}/audit/requests?limit=500${query ? `&${query}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`audit list answered ${r.status}`);
    const page = JSON.parse(r.text) as { items: { requestId: string; status: string; failureReason?: string; attempt: number }[]; cursor?: string };
    out.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return out;
}

export const TERMINAL = ['COMPLETED', 'FAILED', 'TIMED_OUT', 'REJECTED', 'CANCELLED', 'EXPIRED'];

/** Retries `ids` through POST /ops/retry, at most 100 per call. Returns how many were retried. */
export async function opsRetry(baseUrl: string, opsToken: string, ids: string[], reason: string): Promise<number> {
  let retried = 0;
  for (let i = 0; i < ids.length; i += 100) {
    const r = await raw(`${baseUrl}/ops/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${opsToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ids: ids.slice(i, i + 100), reason }),
    });
    if (r.status !== 200) throw new Error(`bulk retry answered ${r.status}: ${r.text}`);
    retried += (JSON.parse(r.text) as { outcomes: { outcome: string }[] }).outcomes.filter((o) => o.outcome === 'retried').length;
  }
  return retried;
}

/** Asks the simulator itself (a signed, fault-free call) how one job ended: per-user statuses (only `userId`'s when given). */
export async function simJobStatuses(simUrl: string, jobId: string, userId?: string, tries = 0): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ appId: DEV_KORE_CLIENT_ID, sub: 'erasure-desk' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(new TextEncoder().encode(DEV_KORE_CLIENT_SECRET));
  const r = await raw(`${simUrl}/api/public/bot/eraseUsersData/status/${encodeURIComponent(jobId)}`, { headers: { auth: jwt } });
  // The oracle's calls count against the account's limits too: over them, it waits and asks again.
  if (r.status === 429 && tries < 100) {
    await sleep(100);
    return simJobStatuses(simUrl, jobId, userId, tries + 1);
  }
  if (r.status !== 200) throw new Error(`simulator status answered ${r.status}`);
  const users = (JSON.parse(r.text) as { response: { userId: string; status: string }[] }).response;
  // A batch's job answers for every member: `userId` picks one user's entry.
  return users.filter((u) => userId === undefined || u.userId.toLowerCase() === userId.toLowerCase()).map((u) => u.status);
}

export interface DeleteAccounting {
  /** Attempts whose DELETE was accepted more than once (must be 0). */
  duplicates: number;
  /** Jobs the simulator accepted that no audit event records (a kill between DELETE and answer, or an answer lost on the way). */
  unrecordedJobs: number;
  /**
   * Unrecorded jobs beyond the DELETEs whose answer the trail records as lost (`outcomeUnknown`):
   * a lost answer may hide an accepted job, and says so; anything else is unaccounted (must be 0).
   */
  unaccountedJobs: number;
  /** Recorded job ids the simulator never accepted (must be 0). */
  phantomJobs: number;
}

/**
 * Matches the simulator's accepted DELETEs for one subject against the request's trail.
 * A recorded job is an ERASURE_SUBMITTED that is not a resume; each attempt may record at most
 * one, every recorded job must be one the simulator accepted, and the simulator may accept at
 * most one DELETE per attempt that announced one (ERASURE_SUBMITTING).
 */
export function accountDeletes(detail: AuditDetail, accepted: SimCall[]): DeleteAccounting {
  const recorded = detail.timeline.filter((e) => e.type === 'ERASURE_SUBMITTED' && e.details.resumed !== true);
  const perAttempt = new Map<number, number>();
  for (const e of recorded) perAttempt.set(e.attempt, (perAttempt.get(e.attempt) ?? 0) + 1);
  const attemptsThatSent = new Set(detail.timeline.filter((e) => e.type === 'ERASURE_SUBMITTING').map((e) => e.attempt)).size;
  const acceptedIds = new Set(accepted.map((c) => c.jobId));
  const recordedIds = new Set(recorded.map((e) => String(e.details.koreRequestId)));
  const unrecordedJobs = [...acceptedIds].filter((id) => !recordedIds.has(id!)).length;
  // An answer lost in the client (timeout, reset), or never recorded because the run died between
  // its intent and the answer (a Lambda timeout): either may hide an accepted job.
  const answered = (intent: AuditDetail['timeline'][number]) =>
    detail.timeline.some((e) => e.seq > intent.seq && e.attempt === intent.attempt && (e.type === 'ERASURE_SUBMITTED' || e.type === 'ERASURE_CALL_FAILED') && e.details.try === intent.details.try);
  const lostAnswers =
    detail.timeline.filter((e) => e.type === 'ERASURE_CALL_FAILED' && e.details.outcomeUnknown === true).length +
    detail.timeline.filter((e) => e.type === 'ERASURE_SUBMITTING' && !answered(e)).length;
  return {
    unaccountedJobs: Math.max(0, unrecordedJobs - lostAnswers),
    duplicates: [...perAttempt.values()].filter((n) => n > 1).length + Math.max(0, accepted.length - attemptsThatSent),
    unrecordedJobs,
    phantomJobs: [...recordedIds].filter((id) => !acceptedIds.has(id)).length,
  };
}

/** `accountDeletes` summed over a run: request `i` is the one of subject `emails[i]`. */
export function accountAllDeletes(details: readonly AuditDetail[], emails: readonly string[], calls: SimCall[]): DeleteAccounting {
  const accepted = acceptedByUser(calls);
  const total: DeleteAccounting = { duplicates: 0, unrecordedJobs: 0, unaccountedJobs: 0, phantomJobs: 0 };
  for (const [i, d] of details.entries()) {
    const a = accountDeletes(d, accepted.get(emails[i]!.toLowerCase()) ?? []);
    total.duplicates += a.duplicates;
    total.unrecordedJobs += a.unrecordedJobs;
    total.unaccountedJobs += a.unaccountedJobs;
    total.phantomJobs += a.phantomJobs;
  }
  return total;
}

/** Accepted erase calls per user id (lower-cased), from one read of the simulator's call list. */
export function acceptedByUser(calls: SimCall[]): Map<string, SimCall[]> {
  const map = new Map<string, SimCall[]>();
  for (const c of calls) {
    if (c.outcome !== 'accepted') continue;
    for (const u of c.userIds ?? []) {
      const key = u.toLowerCase();
      map.set(key, [...(map.get(key) ?? []), c]);
    }
  }
  return map;
}

/** Counts of a list of strings, for printing. */
export function tally(values: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort());
}

/** One line of figures on stdout (vitest shows it), prefixed so a CI log can be grepped. */
export function printFigures(part: string, figures: Record<string, unknown>): void {
  process.stdout.write(`\n[reliability] ${part}: ${JSON.stringify(figures)}\n`);
}
