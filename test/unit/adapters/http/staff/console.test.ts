import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { CSRF_COOKIE, SESSION_COOKIE } from '../../../../../functions/adapters/http/staff/console';
import { createWithHistory, makeRequest, TO_FAILED } from '../../../../support/staff-fakes';
import { apiEvent, createHarness, type Harness } from '../../../../support/staff-harness';

const XSS = `<script>alert("x")</script><img src=x onerror=alert(1)>`;

/** A browser-ish cookie jar over the handler's Set-Cookie answers. */
class Browser {
  readonly jar = new Map<string, string>();
  constructor(private readonly h: Harness) {}
  private absorb(result: APIGatewayProxyStructuredResultV2) {
    for (const c of result.cookies ?? []) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = decodeURIComponent(pair!.slice(i + 1));
      if (/Max-Age=0/.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return result;
  }
  cookies(): string[] {
    return [...this.jar].map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  }
  async get(path: string, query = '') {
    return this.absorb(await this.h.console(apiEvent({ path, query, cookies: this.cookies() })));
  }
  async post(path: string, form: Record<string, string>) {
    return this.absorb(await this.h.console(apiEvent({ method: 'POST', path, form, cookies: this.cookies() })));
  }
  csrfOf(page: APIGatewayProxyStructuredResultV2): string {
    const m = /name="csrf" value="([^"]+)"/.exec(page.body ?? '');
    if (!m) throw new Error('no csrf field on the page');
    return m[1]!;
  }
  async signIn(role: 'ops' | 'auditor', sub = `console-${role}`) {
    const page = await this.get('/console');
    const result = await this.post('/console/login', { token: await this.h.tokens.valid(role, sub), csrf: this.csrfOf(page) });
    expect(result.statusCode).toBe(303);
    return result;
  }
}

async function seeded() {
  const h = await createHarness();
  await createWithHistory(h.store, { requestId: 'req-1', receivedAt: '2026-02-20T10:00:00.000Z', dueAt: '2026-03-20T10:00:00.000Z' }, [...TO_FAILED]);
  return h;
}

describe('console sign-in', () => {
  it('keeps the token in a __Host- cookie (HttpOnly, SameSite=Strict, Secure, Path=/, no Domain) and shows the dashboard', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    const first = await browser.get('/console');
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('<h1>Sign in</h1>');
    const login = await browser.signIn('auditor');
    const session = login.cookies!.find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(session).toMatch(/HttpOnly/);
    expect(session).toMatch(/SameSite=Strict/);
    expect(session).toMatch(/Secure/);
    expect(session).toMatch(/^__Host-/);
    expect(session).toMatch(/; Path=\/(;|$)/);
    expect(session).not.toMatch(/Domain=/i);
    for (const c of login.cookies!) expect(c).toMatch(/^__Host-[^;]+; Path=\/; Secure; HttpOnly; SameSite=Strict/);
    const dashboard = await browser.get('/console');
    expect(dashboard.statusCode).toBe(200);
    expect(dashboard.body).toContain('<h1>Dashboard</h1>');
    expect(dashboard.body).toMatch(/<svg[^>]*role="img"/);
    expect(dashboard.headers?.['content-security-policy']).toMatch(/default-src 'none'.*style-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(dashboard.body).not.toMatch(/<script/i);
  });

  it('leaves the CSRF cookie alone for stray requests outside the console (a browser favicon)', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    const page = await browser.get('/console');
    const stray = await browser.get('/favicon.ico');
    expect(stray.statusCode).toBe(404);
    expect(stray.cookies ?? []).toEqual([]);
    const result = await browser.post('/console/login', { token: await h.tokens.valid('ops'), csrf: browser.csrfOf(page) });
    expect(result.statusCode).toBe(303);
  });

  it('refuses a sign-in without the CSRF token of the page', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.get('/console');
    const result = await browser.post('/console/login', { token: await h.tokens.valid('ops') });
    expect(result.statusCode).toBe(403);
    expect(browser.jar.has(SESSION_COOKIE)).toBe(false);
  });

  it('refuses a bad token at sign-in and an expired session afterwards', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    const page = await browser.get('/console');
    const attacks = await h.tokens.attacks();
    const result = await browser.post('/console/login', { token: attacks['HS256 signed with the public key']!, csrf: browser.csrfOf(page) });
    expect(result.statusCode).toBe(401);
    browser.jar.set(SESSION_COOKIE, attacks.expired!);
    const after = await browser.get('/console/requests');
    expect(after.statusCode).toBe(401);
    expect(after.body).toContain('expired');
  });
});

describe('console sign-out', () => {
  it('revokes the session server-side: the old cookie value and the same token as a bearer are refused afterwards', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.signIn('ops', 'leaving-ops');
    const token = browser.jar.get(SESSION_COOKIE)!;
    const dashboard = await browser.get('/console');
    const out = await browser.post('/console/logout', { csrf: browser.csrfOf(dashboard) });
    expect(out.statusCode).toBe(303);
    expect(browser.jar.has(SESSION_COOKIE)).toBe(false);
    expect(h.tokens.sessions.revoked.size).toBe(1);
    const [expiry] = [...h.tokens.sessions.revoked.values()];
    expect(expiry!.getTime()).toBeGreaterThan(Date.now());

    // Someone who copied the cookie before the sign-out replays it.
    browser.jar.set(SESSION_COOKIE, token);
    const replay = await browser.get('/console/requests');
    expect(replay.statusCode).toBe(401);
    expect(replay.body).toContain('signed out');
    const asBearer = await h.auditApi(apiEvent({ path: '/audit/requests', token }));
    expect(asBearer.statusCode).toBe(401);
    const opsAsBearer = await h.opsApi(apiEvent({ method: 'POST', path: '/ops/requests/req-1/cancel', token, body: { reason: 'replayed' } }));
    expect(opsAsBearer.statusCode).toBe(401);
    expect((await h.store.getRequest('req-1'))!.status).toBe('FAILED');
  });

  it('leaves other sessions of the same person alone', async () => {
    const h = await seeded();
    const leaving = new Browser(h);
    const staying = new Browser(h);
    await leaving.signIn('auditor', 'same-person');
    await staying.signIn('auditor', 'same-person');
    const page = await leaving.get('/console');
    await leaving.post('/console/logout', { csrf: leaving.csrfOf(page) });
    expect((await staying.get('/console/requests')).statusCode).toBe(200);
  });
});

describe('console pages', () => {
  it('escape whatever the data carries', async () => {
    const h = await createHarness();
    await createWithHistory(h.store, { requestId: 'req-x', receivedAt: '2026-02-27T10:00:00.000Z', dueAt: '2026-03-27T10:00:00.000Z' }, [
      ...TO_FAILED.slice(0, 4),
      { type: 'ERASURE_FAILED', status: 'FAILED', patch: { failureReason: XSS } },
    ]);
    await h.store.appendEvent('req-x', (c) => ({ event: { type: 'STATUS_CHECKED', at: '2026-02-28T00:00:00.000Z', actor: `staff:${XSS}`, attempt: c.attempt, status: c.status, details: { platformStatus: XSS } } }));
    const browser = new Browser(h);
    await browser.signIn('ops', XSS);
    for (const [path, query] of [['/console', ''], ['/console/requests', ''], ['/console/requests', 'status=FAILED'], ['/console/requests/req-x', '']] as const) {
      const page = await browser.get(path, query);
      expect(page.statusCode, path).toBe(200);
      expect(page.body, path).not.toContain('<script>alert');
      expect(page.body, path).not.toContain('<img src=x');
    }
    const detail = await browser.get('/console/requests/req-x');
    expect(detail.body).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('show ops buttons to ops only, each behind a required confirmation and reason', async () => {
    const h = await seeded();
    const ops = new Browser(h);
    await ops.signIn('ops');
    const asOps = (await ops.get('/console/requests/req-1')).body!;
    for (const action of ['retry', 'cancel', 'extend']) expect(asOps).toContain(`action="/console/requests/req-1/${action}"`);
    expect(asOps).not.toContain('/recheck"');
    expect(asOps).toMatch(/<input type="checkbox" name="confirm" value="yes" required>/);
    expect(asOps).toMatch(/<textarea name="reason"[^>]*required/);
    const auditor = new Browser(h);
    await auditor.signIn('auditor');
    const asAuditor = (await auditor.get('/console/requests/req-1')).body!;
    expect(asAuditor).not.toMatch(/\/console\/requests\/req-1\/(retry|cancel|extend|recheck)/);
    expect(asAuditor).toContain('Not verified against checkpoints</span>: Not verified against checkpoints: no checkpoint store is configured here.');
  });
});

describe('console actions', () => {
  it('retry with the CSRF token and confirmation, recording the signed-in actor', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.signIn('ops', 'olga');
    const page = await browser.get('/console/requests/req-1');
    const result = await browser.post('/console/requests/req-1/retry', { csrf: browser.csrfOf(page), reason: 'outage over', confirm: 'yes' });
    expect(result.statusCode).toBe(303);
    expect(result.headers?.location).toBe('/console/requests/req-1?done=retry');
    expect(h.store.events.get('req-1')!.at(-1)).toMatchObject({ type: 'RETRY_REQUESTED', actor: 'staff:olga', details: { reason: 'outage over' } });
    const after = await browser.get('/console/requests/req-1', 'done=retry');
    expect(after.body).toContain('A new attempt was started.');
    expect(after.body).toContain('<td id="status">QUEUED</td>');
  });

  it.each([
    ['without a CSRF token', (_csrf: string) => ({ reason: 'r', confirm: 'yes' })],
    ['with a forged CSRF token', (csrf: string) => ({ reason: 'r', confirm: 'yes', csrf: `${csrf.split('.')[0]}.forged` })],
  ])('refuses an action %s', async (_n, form) => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.signIn('ops');
    const page = await browser.get('/console/requests/req-1');
    const result = await browser.post('/console/requests/req-1/retry', form(browser.csrfOf(page)) as Record<string, string>);
    expect(result.statusCode).toBe(403);
    expect(h.store.events.get('req-1')).toHaveLength(6);
    expect(h.workflow.starts).toEqual([]);
  });

  it('refuses a CSRF token minted for another session', async () => {
    const h = await seeded();
    const mallory = new Browser(h);
    await mallory.signIn('ops', 'mallory');
    const malloryCsrf = mallory.csrfOf(await mallory.get('/console/requests/req-1'));
    const victim = new Browser(h);
    await victim.signIn('ops', 'victim');
    // The attacker plants their own token pair in the victim's cookie and form.
    victim.jar.set(CSRF_COOKIE, malloryCsrf);
    const result = await victim.post('/console/requests/req-1/retry', { csrf: malloryCsrf, reason: 'r', confirm: 'yes' });
    expect(result.statusCode).toBe(403);
    expect(h.workflow.starts).toEqual([]);
  });

  it('needs the confirmation box', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.signIn('ops');
    const page = await browser.get('/console/requests/req-1');
    const result = await browser.post('/console/requests/req-1/cancel', { csrf: browser.csrfOf(page), reason: 'r' });
    expect(result.statusCode).toBe(400);
    expect(result.body).toContain('Tick the confirmation box');
    expect(h.store.requests.get('req-1')!.status).toBe('FAILED');
  });

  it('shows a conflict on the request page', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.signIn('ops');
    const csrf = browser.csrfOf(await browser.get('/console/requests/req-1'));
    await browser.post('/console/requests/req-1/retry', { csrf, reason: 'r', confirm: 'yes' });
    const again = await browser.post('/console/requests/req-1/retry', { csrf, reason: 'r', confirm: 'yes' });
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('The request is QUEUED');
  });

  it('refuses an auditor with 403 even with a valid CSRF token', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.signIn('auditor');
    const csrf = browser.csrfOf(await browser.get('/console/requests/req-1'));
    const result = await browser.post('/console/requests/req-1/retry', { csrf, reason: 'r', confirm: 'yes' });
    expect(result.statusCode).toBe(403);
    expect(h.workflow.starts).toEqual([]);
  });

  it('accepts a bearer token without a CSRF token (no ambient credentials)', async () => {
    const h = await seeded();
    const result = await h.console(apiEvent({ method: 'POST', path: '/console/requests/req-1/retry', form: { reason: 'r', confirm: 'yes' }, token: await h.tokens.valid('ops') }));
    expect(result.statusCode).toBe(303);
    expect(h.workflow.starts).toHaveLength(1);
  });
});

describe('console search and export', () => {
  it('finds requests by subject without echoing the subject', async () => {
    const h = await createHarness();
    h.store.seed([makeRequest({ requestId: 'mine', status: 'COMPLETED' })]);
    const browser = new Browser(h);
    await browser.signIn('auditor');
    const csrf = browser.csrfOf(await browser.get('/console/requests'));
    const result = await browser.post('/console/requests/search', { csrf, subject: 'MINE@example.com' });
    expect(result.statusCode).toBe(200);
    expect(result.body).toContain('>mine</a>');
    expect(result.body!.toLowerCase()).not.toContain('mine@example.com');
  });

  it('exports CSV for the signed-in auditor', async () => {
    const h = await seeded();
    const browser = new Browser(h);
    await browser.signIn('auditor');
    const result = await browser.get('/console/export', 'format=csv&from=2026-02-01');
    expect(result.statusCode).toBe(200);
    expect(result.headers?.['content-type']).toMatch(/^text\/csv/);
    expect(result.body!.split('\r\n')[1]).toMatch(/^req-1,FAILED,/);
  });
});
