/**
 * The subject intake over real HTTP through the local runtime: the form with its CSRF token,
 * links that expire and work once, duplicate submissions collapsing into one request, the
 * owner/co-developer/member rules with reasons, and submission on a subject's behalf.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ACCOUNT_OWNER, DEMO_BOTS, DEMO_CO_DEVELOPERS, DEMO_END_USERS, DEMO_MEMBERS } from '../../infra/local/kore-sim';
import { acceptedErasures, auditDetail, confirmLink, freshEmail, inbox, json, mailedRequestId, outbox, startE2eRuntime, submitAndVerify, submitJson, verificationLink, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;

beforeAll(async () => {
  // The functions' clock can be moved forward (links that expire, reminders that fall due).
  runtime = await startE2eRuntime({ controllableClock: true });
});
afterAll(async () => runtime?.close());

describe('the intake over HTTP', () => {
  it('takes a form post with its CSRF token from the form to COMPLETED via the mailed link', async () => {
    const form = await fetch(`${runtime.url}/`);
    const html = await form.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)![1]!;
    const cookie = form.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const email = freshEmail('form');
    const posted = await fetch(`${runtime.url}/requests`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, accept: 'text/html' },
      body: new URLSearchParams({ email, csrf, botIds: `${DEMO_BOTS.support.botId}\n${DEMO_BOTS.hr.botId}` }).toString(),
    });
    expect(posted.status).toBe(303);
    expect(posted.headers.get('location')).toBe(`${runtime.url}/check-email`);
    const landing = await fetch(posted.headers.get('location')!);
    expect(landing.status).toBe(200);
    expect(await landing.text()).toContain('<h1>Check your email</h1>');
    const requestId = await mailedRequestId(runtime.url, email);
    await confirmLink(await verificationLink(runtime.url, requestId));
    const detail = await waitForStatus(runtime, requestId, ['COMPLETED']);
    expect(detail.timeline.find((e) => e.type === 'ERASURE_SUBMITTING')?.details.botIds).toEqual([DEMO_BOTS.support.botId, DEMO_BOTS.hr.botId].sort());
    expect(acceptedErasures(runtime, email)).toBe(1);
  });

  it('refuses a form post without the CSRF token and stores nothing', async () => {
    const email = freshEmail('csrf');
    const posted = await fetch(`${runtime.url}/requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ email }).toString(),
    });
    expect(posted.status).toBe(403);
    expect(posted.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await outbox(runtime.url)).some((m) => m.to === email)).toBe(false);
  });

  it('collapses 20 simultaneous submissions for one subject into one request and one email', async () => {
    const email = freshEmail('dup');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => submitJson(runtime.url, { email: i % 2 ? email.toUpperCase() : ` ${email} ` })));
    // Nothing counts per address, so none is refused; and none is a second request.
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const accepted = answers.filter((a) => a.status === 202);
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    // Every answer is the same words, naming no request.
    expect(new Set(await Promise.all(accepted.map((a) => a.text()))).size).toBe(1);
    const mails = await inbox(runtime.url, email);
    expect(mails.filter((m) => m.kind === 'verification')).toHaveLength(1);
    expect(new Set(mails.map((m) => m.requestId)).size).toBe(1);
  });

  it('tells whoever types an address with an open request nothing; the address gets the status link', async () => {
    const email = freshEmail('open');
    const requestId = await submitAndVerify(runtime.url, email);
    const fresh = await submitJson(runtime.url, { email: freshEmail('stranger') });
    const again = await submitJson(runtime.url, { email });
    expect([fresh.status, again.status]).toEqual([202, 202]);
    expect(await again.text()).toBe(await fresh.text());
    const mail = (await inbox(runtime.url, email)).find((m) => m.kind === 'already-open');
    expect(mail?.requestId).toBe(requestId);
    const statusUrl = mail!.text.match(/https?:\/\/\S+\/requests\/\S+/)![0];
    const status = await json<{ requestId: string }>(await fetch(statusUrl, { headers: { accept: 'application/json' } }));
    expect(status.requestId).toBe(requestId);
  });

  it('refuses a link after 30 minutes, and the request expires at the next sweep', async () => {
    const email = freshEmail('late');
    expect((await submitJson(runtime.url, { email })).status).toBe(202);
    const submitted = { requestId: await mailedRequestId(runtime.url, email) };
    const link = await verificationLink(runtime.url, submitted.requestId);
    runtime.advanceClock(31 * 60_000);
    try {
      const late = await confirmLink(link, 'application/json');
      expect(late.status).toBe(410);
      expect((await json<{ type: string }>(late)).type).toMatch(/link-expired$/);
      await runtime.sweep();
      const detail = await auditDetail(runtime, submitted.requestId);
      expect(detail.request.status).toBe('EXPIRED');
      expect(detail.timeline.some((e) => e.type === 'IDENTITY_VERIFIED')).toBe(false);
    } finally {
      runtime.advanceClock(0);
    }
  });

  it('reminds a subject who has not confirmed once, after ten minutes, and the new link works', async () => {
    const email = freshEmail('remind');
    expect((await submitJson(runtime.url, { email })).status).toBe(202);
    const requestId = await mailedRequestId(runtime.url, email);
    const verificationMails = async () => (await outbox(runtime.url)).filter((m) => m.requestId === requestId && m.kind === 'verification');
    expect(await runtime.sweep()).toMatchObject({ reminded: 0 });
    runtime.advanceClock(11 * 60_000);
    try {
      expect(await runtime.sweep()).toMatchObject({ reminded: 1 });
      expect(await runtime.sweep()).toMatchObject({ reminded: 0 });
      runtime.advanceClock(11 * 60_000);
      expect(await runtime.sweep()).toMatchObject({ reminded: 0, expired: 0 });
      const mails = await verificationMails();
      expect(mails).toHaveLength(2);
      const newest = mails[0]!.text.match(/https?:\/\/\S+\/verify\?token=[\w.-]+/)![0];
      expect((await confirmLink(newest)).status).toBe(303);
      expect((await auditDetail(runtime, requestId)).timeline.filter((e) => e.type === 'IDENTITY_VERIFIED')).toHaveLength(1);
    } finally {
      runtime.advanceClock(0);
    }
  });

  it.each([
    ['an account owner', DEMO_ACCOUNT_OWNER.email, 'ACCOUNT_OWNER', [] as string[]],
    ['a bot co-developer', DEMO_CO_DEVELOPERS[1]!.email, 'BOT_CO_DEVELOPER', [DEMO_BOTS.billing.botId, DEMO_BOTS.hr.botId].sort()],
    ['an account member', DEMO_MEMBERS[0]!.email, 'ACCOUNT_MEMBER', [] as string[]],
  ])('rejects %s with the rule, the bots, what to do and the Art. 12(4) information', async (_who, email, rule, botIds) => {
    const requestId = await submitAndVerify(runtime.url, email);
    const detail = await waitForStatus(runtime, requestId, ['REJECTED']);
    expect(detail.request.rejection).toMatchObject({ rule, botIds, source: 'snapshot' });
    const mail = (await outbox(runtime.url)).find((m) => m.requestId === requestId && m.kind === 'rejection');
    expect(mail?.text).toMatch(/supervisory authority/i);
    expect(mail?.text).toMatch(/judicial remedy|court/i);
    const statusUrl = mail!.text.match(/https?:\/\/\S+\/requests\/\S+/)![0];
    const status = await json<Record<string, unknown>>(await fetch(statusUrl, { headers: { accept: 'application/json' } }));
    expect(status.status).toBe('REJECTED');
    expect(JSON.stringify(status)).not.toContain(email);
  });

  it('lets ops submit on behalf of a subject known by an enterprise id, recording who and why', async () => {
    const body = { subjectId: DEMO_END_USERS.enterpriseId, reason: 'Letter of 3 November, ref 2026-118', identityCheckedBy: 'passport copy checked by the DPO office' };
    const asAuditor = await fetch(`${runtime.url}/ops/requests`, { method: 'POST', headers: { authorization: `Bearer ${runtime.auditorToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(asAuditor.status).toBe(403);
    const submitted = await fetch(`${runtime.url}/ops/requests`, { method: 'POST', headers: { authorization: `Bearer ${runtime.opsToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(submitted.status).toBe(202);
    const { requestId } = await json<{ requestId: string }>(submitted);
    const detail = await waitForStatus(runtime, requestId, ['COMPLETED']);
    const verified = detail.timeline.find((e) => e.type === 'IDENTITY_VERIFIED')!;
    expect(verified.actor).toBe('staff:e2e-ops');
    expect(verified.details).toMatchObject({ reason: body.reason, identityCheckedBy: body.identityCheckedBy });
    expect(acceptedErasures(runtime, DEMO_END_USERS.enterpriseId)).toBe(1);
  });
});
