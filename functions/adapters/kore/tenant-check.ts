/**
 * `npm run kore:check`: a read-only look at a real tenant's configuration before the desk is
 * pointed at it. It makes two GET calls, one read-only POST and never a DELETE: one page of user
 * roles (host, credentials, the Role Management scope, the shape of the page and of its
 * admin-role entries), the status of a job id that cannot exist (the Delete Users Data scope and
 * the shape of the platform's answer), and the sessions of a user id that cannot exist over the
 * last day (the Bot Sessions scope the verified erasure reads with). It reports field names,
 * counts and role names — never a user's values.
 */
import { randomUUID } from 'node:crypto';
import { KoreAuthError, KorePermanentError, KoreRedirectError, KoreRetryableError, KoreScopeMissingError } from '../../domain/kore';
import { KoreClient, platformMessageOf, sanitisePlatformMessage, SESSIONS_PATH, USER_ROLES_PATH } from './kore-client';

export interface TenantCheckOptions {
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** Injected for tests; default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  timeoutMs?: number;
}

export interface CheckLine {
  check: string;
  ok: boolean;
  detail: string;
}

export interface TenantCheckReport {
  ok: boolean;
  lines: CheckLine[];
}

/** What a call answered, kept only to describe its shape. */
interface Seen {
  path: string;
  method: string;
  status: number;
  text: string;
}

const keysOf = (value: unknown) => (value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value).sort() : []);

function shapeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return `{${keysOf(value).join(',')}}`;
  return typeof value;
}

function describeFailure(error: unknown): string {
  if (error instanceof KoreAuthError) return `refused the credentials or the scope (${error.httpStatus})`;
  if (error instanceof KoreRedirectError) return `answered a redirect (${error.httpStatus}): check the host`;
  if (error instanceof KoreRetryableError) return error.rateLimited ? 'answered with its rate limit: try again in a minute' : error.message;
  if (error instanceof KorePermanentError) return `${error.message}${error.platformMessage ? `: "${error.platformMessage}"` : ''}`;
  return error instanceof Error ? error.name : 'failed';
}

/**
 * Runs the read-only checks and says what it found. Never throws for what the tenant answers;
 * every finding is a line of the report.
 * @throws Error when the options are invalid (the message names the option, never its value).
 */
export async function checkTenant(options: TenantCheckOptions): Promise<TenantCheckReport> {
  const seen: Seen[] = [];
  const baseFetch = options.fetch ?? globalThis.fetch;
  const recordingFetch: typeof globalThis.fetch = async (input, init) => {
    const method = init?.method ?? 'GET';
    // A guard of its own: this check sends GET, and POST only to the read-only sessions search.
    if (method !== 'GET' && !(method === 'POST' && new URL(String(input)).pathname === SESSIONS_PATH)) throw new Error(`kore:check reads only, it never sends ${method}`);
    const response = await baseFetch(input, init);
    const text = await response.clone().text();
    seen.push({ path: new URL(String(input)).pathname, method, status: response.status, text });
    return response;
  };
  const client = new KoreClient({
    baseUrl: options.baseUrl,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    fetch: recordingFetch,
    ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }),
  });
  const lines: CheckLine[] = [];
  const line = (check: string, ok: boolean, detail: string) => lines.push({ check, ok, detail });

  // 1. One page of user roles: host, credentials, Role Management scope, the page's shape.
  try {
    const page = await client.getUserRoles(0, 50);
    line('host and credentials', true, `${new URL(options.baseUrl).origin} answered; the app's token (HS256, appId, sub, fresh jti) was accepted`);
    line('Role Management scope', true, `${USER_ROLES_PATH} answered a page of ${page.users.length} user(s), total ${page.total}`);
    const raw = JSON.parse(seen.at(-1)!.text) as { availableMore?: unknown; users?: unknown[] };
    const userFields = [...new Set((raw.users ?? []).flatMap(keysOf))].sort();
    line('roles page shape', true, `top level {${keysOf(raw).join(',')}}${raw.availableMore === undefined ? ' (no availableMore: derived from total)' : ''}; user fields: ${userFields.join(', ') || 'none'}`);
    const roleNames = new Map<string, number>();
    for (const user of page.users) for (const role of user.btRoles ?? []) roleNames.set(role.roleName, (roleNames.get(role.roleName) ?? 0) + 1);
    line('bot roles seen', true, roleNames.size === 0 ? 'none on this page' : [...roleNames].map(([name, n]) => `${name} (${n})`).join(', '));
    const rawAdmin = (raw.users ?? []).flatMap((u) => ((u as { adminRoles?: unknown }).adminRoles as unknown[] | undefined) ?? []);
    const unknownShapes = new Set<string>();
    let readable = 0;
    for (const entry of rawAdmin) {
      if (entry && typeof entry === 'object' && typeof (entry as { roleName?: unknown }).roleName === 'string') readable++;
      else unknownShapes.add(shapeOf(entry));
    }
    const adminNames = [...new Set(page.users.flatMap((u) => (u.adminRoles ?? []).filter((r) => !r.unrecognised).map((r) => r.roleName)))];
    line(
      'admin-role entries',
      true,
      rawAdmin.length === 0
        ? 'none on this page (their shape is not documented)'
        : `${readable} readable {roleId, roleName}${adminNames.length ? ` (${adminNames.join(', ')})` : ''}` +
            (unknownShapes.size ? `; ${rawAdmin.length - readable} of unknown shape ${[...unknownShapes].join(' ')}: the desk counts those users as account owners` : ''),
    );
  } catch (error) {
    line(error instanceof KoreAuthError ? 'credentials or Role Management scope' : 'host and credentials', false, `user roles: ${describeFailure(error)}`);
  }

  // 2. The status of a job that cannot exist: the Delete Users Data scope, the answer's shape.
  const unknownJob = `eud-kore-check-${randomUUID()}`;
  try {
    const status = await client.getEraseStatus(unknownJob);
    line('Delete Users Data scope', true, `the status call answered 200 for an unknown job, with ${status.users.length} user result(s)`);
  } catch (error) {
    const answer = seen.at(-1);
    const answered = answer?.path.includes('/eraseUsersData/status/') ? answer : undefined;
    if (error instanceof KorePermanentError && !(error instanceof KoreRedirectError) && error.httpStatus >= 400 && error.httpStatus < 500) {
      let shape = 'not JSON';
      try {
        shape = shapeOf(JSON.parse(answered?.text ?? ''));
      } catch {
        // stays "not JSON"
      }
      const message = answered ? platformMessageOf(answered.text) : undefined;
      line('Delete Users Data scope', true, `the status call is allowed: an unknown job answered ${error.httpStatus}, body ${shape}${message ? `, message "${sanitisePlatformMessage(message)}"` : ''}`);
    } else {
      line('Delete Users Data scope', false, `status of an unknown job: ${describeFailure(error)}`);
    }
  }

  // 3. The sessions of a user id that cannot exist: the Bot Sessions scope of the verified erasure.
  try {
    const now = Date.now();
    const page = await client.getSessions({ userId: `kore-check-${randomUUID()}@invalid.example`, dateFrom: new Date(now - 86_400_000).toISOString(), dateTo: new Date(now).toISOString(), skip: 0, limit: 1 });
    const raw = JSON.parse(seen.at(-1)!.text) as unknown;
    line('Bot Sessions scope', true, `${SESSIONS_PATH} answered ${page.sessions.length} session(s) for an unknown user; answer ${shapeOf(raw)}`);
  } catch (error) {
    line(
      'Bot Sessions scope',
      false,
      error instanceof KoreScopeMissingError
        ? `refused (${error.httpStatus}): add the admin scope "Bot Analytics > Bot Sessions" to the app, or every read-back ends not-verified: scope-missing`
        : `sessions history: ${describeFailure(error)}`,
    );
  }

  const calls = seen.map((s) => `${s.method} ${s.path.startsWith('/api/public/bot/eraseUsersData/status/') ? '/api/public/bot/eraseUsersData/status/…' : s.path} → ${s.status}`);
  line('calls made', true, `${calls.join('; ')} (nothing erased)`);
  return { ok: lines.every((l) => l.ok), lines };
}

/** The report as printed by `npm run kore:check`. */
export function formatReport(report: TenantCheckReport): string {
  const width = Math.max(...report.lines.map((l) => l.check.length));
  const body = report.lines.map((l) => `  ${l.ok ? 'ok  ' : 'FAIL'}  ${l.check.padEnd(width)}  ${l.detail}`).join('\n');
  return `Kore.ai tenant check (read-only: nothing is erased)\n${body}\n${report.ok ? 'The tenant looks ready for the desk.' : 'Fix the lines marked FAIL before pointing the desk at this tenant.'}\n`;
}
