/**
 * Part 6, no personal data in logs: `npm start` as a child process at its normal log level, the
 * whole of its stdout and stderr captured through a full run — subjects submitting by JSON and by
 * the browser form, confirming, completing, failing and being retried by ops, a refused
 * co-developer, submissions on a subject's behalf by enterprise id, status pages, staff searches
 * by subject, console sign-in, bad input and bad tokens carrying emails — and then searched for
 * every subject email, enterprise id and token used. (The start-up banner prints one ops token
 * for the developer by design; it is not one of the tokens used here.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDevIssuer } from '../../functions/adapters/http/staff/dev-issuer';
import { DEMO_CO_DEVELOPERS } from '../../infra/local/kore-sim';
import { freePort, startChild, type Child } from '../e2e/process';
import { auditDetail, clientAddress, confirmLink, freshEmail, mailedRequest, printFigures, raw, readOutbox, retrying, sleep, verificationLinks } from './harness';
import { personalDataIn } from './personal-data';

const dataDir = mkdtempSync(join(tmpdir(), 'erasure-desk-logs-'));
let child: Child | undefined;
afterAll(async () => {
  await child?.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('personal data in logs', () => {
  it('never writes a subject email, an enterprise id or a token to the log of a full run', async () => {
    const failing = freshEmail('logs-fails');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    child = await startChild(
      'infra/local/start.ts',
      { PORT: String(port), DATA_DIR: dataDir, KORE_SIM_JOB_MS: '300', KORE_SIM_FAIL_USERS: failing, POLL_INITIAL_SECONDS: '1', POLL_MAX_SECONDS: '1', LOG_LEVEL: 'info' },
      /Press Ctrl\+C to stop/,
    );
    const issuer = await createDevIssuer({ dir: join(dataDir, 'dev-issuer') });
    const auditor = await issuer.issueToken('auditor', 'logs-auditor');
    const ops = await issuer.issueToken('ops', 'logs-ops');
    const json = { 'content-type': 'application/json', accept: 'application/json' };
    const staff = (t: string) => ({ authorization: `Bearer ${t}`, 'content-type': 'application/json' });

    const emails = [freshEmail('logs'), freshEmail('logs'), freshEmail('logs-form'), failing, DEMO_CO_DEVELOPERS[0]!.email];
    const enterpriseIds = ['emp-1001', 'emp-1002'];
    const statusUrls: string[] = [];
    const ids: string[] = [];
    for (const [i, email] of emails.entries()) {
      if (email.includes('logs-form')) {
        // The browser way: the form, its CSRF cookie, a urlencoded post, the redirect to the status page.
        const form = await raw(`${base}/`, { headers: { accept: 'text/html' } });
        const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)![1]!;
        const r = await raw(`${base}/requests`, {
          method: 'POST',
          from: clientAddress(50_000 + i),
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: String(form.headers['set-cookie']).split(';')[0]! },
          body: `csrf=${encodeURIComponent(csrf)}&email=${encodeURIComponent(email)}`,
        });
        expect(r.status).toBe(303);
        expect(r.header('location')).toBe(`${base}/check-email`);
      } else {
        const r = await raw(`${base}/requests`, { method: 'POST', from: clientAddress(50_000 + i), headers: json, body: JSON.stringify({ email }) });
        expect(r.status).toBe(202);
      }
      const mailed = await mailedRequest(base, email);
      statusUrls.push(mailed.statusUrl);
      ids.push(mailed.requestId);
    }
    // A resubmission, an invalid one, and a refused one, all carrying addresses.
    await raw(`${base}/requests`, { method: 'POST', from: clientAddress(50_100), headers: json, body: JSON.stringify({ email: emails[0] }) });
    await raw(`${base}/requests`, { method: 'POST', from: clientAddress(50_101), headers: json, body: JSON.stringify({ email: `${emails[1]}>`, botIds: [emails[1]] }) });
    const links = verificationLinks(await readOutbox(base));
    for (const id of ids) expect((await confirmLink(links.get(id)!, { headers: { accept: 'text/html' } })).status).toBe(303);

    // Ops on a subject's behalf, by enterprise id; staff searching by subject; the console.
    for (const id of enterpriseIds) {
      const r = await raw(`${base}/ops/requests`, { method: 'POST', headers: staff(ops), body: JSON.stringify({ subjectId: id, reason: 'letter of 3 May, ref 12', identityCheckedBy: 'ID seen at the desk' }) });
      expect(r.status).toBe(202);
      ids.push((JSON.parse(r.text) as { requestId: string }).requestId);
    }
    for (const subject of [...emails, ...enterpriseIds]) await raw(`${base}/audit/requests?subject=${encodeURIComponent(subject)}`, { headers: staff(auditor) });
    const consoleForm = await raw(`${base}/console`, { headers: { accept: 'text/html' } });
    const consoleCsrf = /name="csrf" value="([^"]+)"/.exec(consoleForm.text)?.[1] ?? '';
    const consoleCookie = String(consoleForm.headers['set-cookie'] ?? '').split(';')[0]!;
    const signIn = await raw(`${base}/console/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: consoleCookie }, body: `csrf=${encodeURIComponent(consoleCsrf)}&token=${encodeURIComponent(ops)}` });
    await raw(`${base}/console/requests/search`, { method: 'POST', headers: { authorization: `Bearer ${ops}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `subject=${encodeURIComponent(emails[0]!)}` });
    // Bad tokens, one of them a status token used as a bearer token.
    const statusToken = new URL(statusUrls[0]!).searchParams.get('token')!;
    for (const t of [statusToken, `${ops}x`, emails[0]!]) await raw(`${base}/audit/requests`, { headers: { authorization: `Bearer ${t}` } });

    // Everything runs to its end; the failed one is retried by ops and fails again (the simulator fails it by name).
    const until = Date.now() + 60_000;
    const failedId = ids[emails.indexOf(failing)]!;
    while (Date.now() < until && (await retrying(() => auditDetail(base, auditor, failedId))).request.status !== 'FAILED') await sleep(250);
    expect((await raw(`${base}/ops/requests/${failedId}/retry`, { method: 'POST', headers: staff(ops), body: JSON.stringify({ reason: 'log test retry' }) })).status).toBe(200);
    let finals: string[] = [];
    while (Date.now() < until) {
      finals = await Promise.all(ids.map(async (id) => (await auditDetail(base, auditor, id)).request.status));
      if (finals.every((s) => ['COMPLETED', 'FAILED', 'REJECTED'].includes(s)) && (await auditDetail(base, auditor, failedId)).request.attempt === 2 && finals[emails.indexOf(failing)] === 'FAILED') break;
      await sleep(250);
    }
    for (const url of statusUrls) await raw(url, { headers: { accept: 'text/html' } });
    await sleep(500);

    const log = child.output();
    const mails = await readOutbox(base);
    const tokens = [auditor, ops, statusToken, ...statusUrls, ...links.values(), ...mails.flatMap((m) => m.text.match(/token=[\w.-]+/g) ?? [])];
    const leaks = personalDataIn(log, { emails, enterpriseIds, tokens });
    printFigures('personal data in logs', {
      logLines: log.split('\n').filter((l) => l.trim()).length,
      logBytes: log.length,
      subjects: emails.length + enterpriseIds.length,
      tokensSearched: new Set(tokens).size,
      finalStatuses: finals,
      consoleSignIn: signIn.status,
      leaks,
    });
    expect(log).toContain('"message":"execution ended"');
    expect(finals.filter((s) => s === 'COMPLETED').length).toBeGreaterThanOrEqual(5);
    expect(leaks).toEqual([]);
  });
});
