import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { problemOf as answerTo, type ProblemAnswer } from '../../../functions/adapters/http/shared/problems';
import { DomainError } from '../../../functions/domain/errors';
import { verifyChain } from '../../../functions/domain/audit-chain';
import type { AuditEvent, EligibilityRule, PrivilegedIdentity } from '../../../functions/domain/model';
import { hashSubject, normaliseSubjectId } from '../../../functions/domain/subject';
import { createVerifyToken, statusUrlFor } from '../../../functions/intake/links';
import { continueVerified } from '../../../functions/intake/continue-verified';
import { getStatus, subjectTimeline } from '../../../functions/intake/get-status';
import { lastVerificationMailAt, newRequestId, requestIdTime, scopeKeyOf } from '../../../functions/intake/intake-deps';
import { submitOnBehalf } from '../../../functions/intake/submit-on-behalf';
import { submitRequest } from '../../../functions/intake/submit-request';
import { previewVerification, verifyRequest } from '../../../functions/intake/verify-request';
import { makeFixture, SNAPSHOT, type Fixture } from '../../support/intake-fakes';

const CLIENT = { ip: '203.0.113.7', userAgent: 'vitest' };
const EMAIL = 'Jane.Doe@Example.com';
const BOT_A = 'st-11111111-aaaa-4aaa-8aaa-111111111111';
const BOT_B = 'st-22222222-bbbb-4bbb-8bbb-222222222222';
const BOT_C = 'st-33333333-cccc-4ccc-8ccc-333333333333';

const hashOf = (f: Fixture, email: string) => hashSubject(normaliseSubjectId(email, 'email'), f.deps.subjectKeys.hmacKey);
const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;

/** What every successful submission answers, whatever the address and whatever exists for it. */
const UNIFORM_ANSWER = { message: expect.stringMatching(/^Check your email\./), linkValidMinutes: 30 };

/**
 * Submits as a subject. The answer names no request, so the test looks the request up itself:
 * the newest one of the subject and scope (or the one its claim names), and the status link the
 * desk mails for it.
 */
async function submit(f: Fixture, input: { email: string; botIds?: string[] }, client: { ip: string; userAgent?: string } = CLIENT) {
  const answer = await submitRequest(f.deps, input, client);
  expect(answer).toEqual(UNIFORM_ANSWER);
  const subjectHash = hashOf(f, input.email);
  const scopeKey = scopeKeyOf(input.botIds ?? []);
  const newest = [...f.store.requests.values()].filter((r) => r.subjectHash === subjectHash && r.scopeKey === scopeKey).at(-1);
  const requestId = f.claims.claims.get(`${subjectHash}|${scopeKey}`) ?? newest?.requestId;
  if (!requestId) throw new Error('the submission left no request');
  return {
    requestId,
    status: f.store.requests.get(requestId)?.status,
    statusUrl: await statusUrlFor(f.deps.publicBaseUrl, f.deps.linkKey, requestId, f.clock.now()),
  };
}

/** The use case refuses with a domain error (never an HTTP problem); this is what the subject is answered. */
async function problemOf(promise: Promise<unknown>): Promise<ProblemAnswer> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  const answer = answerTo(error, 'public');
  expect(answer, `no answer for ${(error as Error).name}`).toBeDefined();
  return answer!;
}

describe('submitRequest', () => {
  it('creates a request awaiting verification, with a due date one month on, and mails one verification link', async () => {
    const f = await makeFixture();
    const result = await submit(f, { email: `  ${EMAIL} ` }, CLIENT);

    expect(result.status).toBe('AWAITING_VERIFICATION');
    const request = f.store.requests.get(result.requestId)!;
    expect(request).toMatchObject({ channel: 'web', subjectKind: 'email', scopeKey: '*', receivedAt: '2026-03-10T09:00:00.000Z', dueAt: '2026-04-10T09:00:00.000Z' });
    expect(request.subjectHash).toBe(hashOf(f, EMAIL));
    expect(JSON.stringify(request)).not.toMatch(/jane/i);
    expect(f.store.events.get(result.requestId)!.map((e) => e.type)).toEqual(['REQUEST_RECEIVED', 'VERIFICATION_SENT']);
    expect(f.mailer.sent).toHaveLength(1);
    expect(f.mailer.sent[0]).toMatchObject({ to: EMAIL, kind: 'verification', requestId: result.requestId });
    expect(f.mailer.verifyLink()).toMatch(/^https:\/\/erase\.example\.test\/verify\?token=/);
  });

  it('returns the open request of the same subject and scope without a second email', async () => {
    const f = await makeFixture();
    const first = await submit(f, { email: EMAIL, botIds: [BOT_B, BOT_A] }, CLIENT);
    f.clock.advance(60);
    const again = await submit(f, { email: 'jane.doe@example.COM', botIds: [BOT_A, BOT_B, BOT_A] }, CLIENT);

    expect(again.requestId).toBe(first.requestId);
    expect(again.status).toBe('AWAITING_VERIFICATION');
    expect(f.store.requests.size).toBe(1);
    expect(f.mailer.sent).toHaveLength(1);
  });

  it('answers word for word the same whatever the address has, and mails an open request’s status link only to the address stored with it, once per ten minutes', async () => {
    const f = await makeFixture();
    const fresh = await submitRequest(f.deps, { email: 'fresh@example.com' }, CLIENT);
    await submitRequest(f.deps, { email: EMAIL }, CLIENT);
    const awaiting = await submitRequest(f.deps, { email: EMAIL }, CLIENT);
    const { requestId } = await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink()));
    f.mailer.sent.length = 0;
    const underWay = await submitRequest(f.deps, { email: EMAIL.toUpperCase() }, { ip: '198.51.100.1' });
    const again = await submitRequest(f.deps, { email: EMAIL }, { ip: '198.51.100.2' });

    for (const answer of [fresh, awaiting, underWay, again]) expect(answer).toEqual(fresh);
    expect(JSON.stringify(fresh)).not.toMatch(/requests\/|token|[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(f.mailer.sent).toHaveLength(1);
    expect(f.mailer.sent[0]).toMatchObject({ to: EMAIL.toLowerCase(), kind: 'already-open', requestId });
    expect(f.mailer.statusLink(requestId)).toMatch(new RegExp(`^https://erase\\.example\\.test/requests/${requestId}\\?token=`));
    const view = await getStatus(f.deps, requestId, tokenOf(f.mailer.statusLink(requestId)));
    expect(view.requestId).toBe(requestId);
    expect(f.store.events.get(requestId)!.filter((e) => e.type === 'NOTICE_SENT' && e.details.kind === 'already-open')).toHaveLength(1);

    f.clock.advance(11 * 60);
    await Promise.all([submitRequest(f.deps, { email: EMAIL }, CLIENT), submitRequest(f.deps, { email: EMAIL }, CLIENT)]);
    expect(f.mailer.sent.filter((m) => m.kind === 'already-open')).toHaveLength(2);
    expect(f.store.requests.size).toBe(2);
  });

  it('answers a resubmission the same even when re-sending its verification mail fails, and logs only ids', async () => {
    const f = await makeFixture();
    const lines = f.logs;
    const first = await submitRequest(f.deps, { email: EMAIL }, CLIENT);
    f.clock.advance(11 * 60);
    f.mailer.failNext = 1;
    const again = await submitRequest(f.deps, { email: EMAIL }, CLIENT);
    expect(again).toEqual(first);
    expect(lines.some((l) => l.message === 'verification mail not re-sent')).toBe(true);
    expect(JSON.stringify(lines)).not.toMatch(/jane/i);
  });

  it('treats another scope of the same subject as another request', async () => {
    const f = await makeFixture();
    const all = await submit(f, { email: EMAIL }, CLIENT);
    const some = await submit(f, { email: EMAIL, botIds: [BOT_A] }, CLIENT);
    expect(some.requestId).not.toBe(all.requestId);
    expect(f.store.requests.get(some.requestId)!.scopeKey).toBe(BOT_A);
  });

  it('re-sends the verification email once when the last one is older than ten minutes, and records it', async () => {
    const f = await makeFixture();
    const first = await submit(f, { email: EMAIL }, CLIENT);
    f.clock.advance(11 * 60);
    await Promise.all([submit(f, { email: EMAIL }, CLIENT), submit(f, { email: EMAIL }, CLIENT)]);
    await submit(f, { email: EMAIL }, CLIENT);

    expect(f.mailer.sent.filter((m) => m.kind === 'verification')).toHaveLength(2);
    const timeline = f.store.events.get(first.requestId)!;
    expect(timeline.filter((e) => e.type === 'NOTICE_SENT' && e.details.kind === 'verification')).toHaveLength(1);
    expect(lastVerificationMailAt(timeline)!.toISOString()).toBe('2026-03-10T09:11:00.000Z');
  });

  it('collapses 50 concurrent submissions into one request and one email', async () => {
    const f = await makeFixture({ limits: { perClient: { limit: 100, windowSeconds: 600 } } });
    const results = await Promise.all(Array.from({ length: 50 }, () => submit(f, { email: EMAIL }, CLIENT)));

    expect(new Set(results.map((r) => r.requestId)).size).toBe(1);
    expect(f.store.requests.size).toBe(1);
    expect(f.mailer.sent).toHaveLength(1);
    expect(f.claims.claims.size).toBe(1);
  });

  it('never refuses an address, however many submissions name it: only clients are limited', async () => {
    const f = await makeFixture();
    for (let i = 0; i < 40; i++) await submit(f, { email: EMAIL }, { ip: `198.51.100.${i}` });
    expect(await submitRequest(f.deps, { email: EMAIL.toLowerCase() }, { ip: '198.51.100.99' })).toEqual(UNIFORM_ANSWER);
    expect(f.store.requests.size).toBe(1);
    expect(f.mailer.sent).toHaveLength(1);
  });

  it('limits submissions per client address, whatever emails they name', async () => {
    const f = await makeFixture();
    for (let i = 0; i < 30; i++) await submit(f, { email: `user${i}@example.com` }, CLIENT);
    const refused = await problemOf(submitRequest(f.deps, { email: 'another@example.com' }, CLIENT));
    expect(refused.problem.status).toBe(429);
    expect(refused.headers['retry-after']).toBeDefined();
    expect([...f.rateLimiter.hits.keys()].join()).not.toContain('203.0.113.7');
  });

  it('refuses invalid input with 422 naming each field, writing nothing', async () => {
    const f = await makeFixture();
    const refused = await problemOf(submitRequest(f.deps, { email: 'not-an-email', botIds: ['st-nope'], admin: true }, CLIENT));
    expect(refused.problem.status).toBe(422);
    expect(refused.problem.errors!.map((e) => e.field).sort()).toEqual(['admin', 'botIds/0', 'email']);
    expect(f.store.requests.size).toBe(0);
    expect(f.mailer.sent).toHaveLength(0);
  });

  it('cancels the request and frees the claim when the verification email cannot be sent (503, retry works)', async () => {
    const f = await makeFixture();
    f.mailer.failNext = 1;
    const refused = await problemOf(submitRequest(f.deps, { email: EMAIL }, CLIENT));
    expect(refused.problem.status).toBe(503);
    const [failed] = [...f.store.requests.values()];
    expect(failed!.status).toBe('CANCELLED');
    expect(failed!.subjectCipher).toBeUndefined();
    expect(f.claims.claims.size).toBe(0);

    const retry = await submit(f, { email: EMAIL }, CLIENT);
    expect(retry.requestId).not.toBe(failed!.requestId);
    expect(f.mailer.sent).toHaveLength(1);
  });

  it('releases the claim when the request cannot be written', async () => {
    const f = await makeFixture();
    f.store.failNext.createRequest = 1;
    await expect(submitRequest(f.deps, { email: EMAIL }, CLIENT)).rejects.toThrow('simulated store outage');
    expect(f.claims.claims.size).toBe(0);
    expect(f.store.requests.size).toBe(0);
  });

  it('cancels a request whose verification step could not be recorded, so none stays open half-made', async () => {
    const f = await makeFixture();
    f.store.failNext.appendEvent = 1;
    await expect(submitRequest(f.deps, { email: EMAIL }, CLIENT)).rejects.toThrow('simulated store outage');
    expect([...f.store.requests.values()].map((r) => r.status)).toEqual(['CANCELLED']);
    expect(f.claims.claims.size).toBe(0);
    expect(f.mailer.sent).toHaveLength(0);
  });

  it('clears a left-over claim whose request was never written once it is stale', async () => {
    const f = await makeFixture();
    const ghost = newRequestId(f.clock.now());
    f.claims.claims.set(`${hashOf(f, EMAIL)}|*`, ghost);
    f.clock.advance(30);
    const during = await submit(f, { email: EMAIL }, CLIENT);
    expect(during.requestId).toBe(ghost); // may still be being written by a concurrent submission

    f.clock.advance(300);
    const after = await submit(f, { email: EMAIL }, CLIENT);
    expect(after.requestId).not.toBe(ghost);
    expect(after.status).toBe('AWAITING_VERIFICATION');
  });

  it('starts a new request when the claimed one has ended for good', async () => {
    const f = await makeFixture();
    const first = await submit(f, { email: EMAIL }, CLIENT);
    await f.store.advance(first.requestId, { type: 'REQUEST_EXPIRED', actor: 'system:sweeper', status: 'EXPIRED', details: {} });
    const second = await submit(f, { email: EMAIL }, CLIENT);
    expect(second.requestId).not.toBe(first.requestId);
    expect(f.mailer.sent).toHaveLength(2);
  });
});

describe('previewVerification (opening the emailed link)', () => {
  it('only looks: a mail scanner opening the link ten times records and consumes nothing, and the person can still confirm', async () => {
    const f = await makeFixture();
    const { requestId } = await submit(f, { email: EMAIL, botIds: [BOT_A] });
    const token = tokenOf(f.mailer.verifyLink());
    const before = f.store.events.get(requestId)!.length;
    for (let i = 0; i < 10; i++) {
      expect(await previewVerification(f.deps, token)).toEqual({ state: 'confirm', requestId, scope: { allBots: false, botIds: [BOT_A] } });
    }
    expect(f.store.events.get(requestId)!).toHaveLength(before);
    expect(f.workflow.starts).toEqual([]);
    expect(await verifyRequest(f.deps, token)).toMatchObject({ requestId, status: 'QUEUED' });
    // Past confirmation the link just leads to the status page.
    const after = await previewVerification(f.deps, token);
    expect(after).toEqual({ state: 'done', statusUrl: expect.stringMatching(new RegExp(`/requests/${requestId}\\?token=`)) });
  });

  it.each<[string, string | undefined]>([
    ['a garbage token', 'garbage'],
    ['no token', undefined],
  ])('refuses %s with 400 like the confirmation does', async (_name, token) => {
    const f = await makeFixture();
    expect((await problemOf(previewVerification(f.deps, token))).problem.status).toBe(400);
  });

  it('refuses an expired link with 410', async () => {
    const f = await makeFixture();
    await submit(f, { email: EMAIL });
    f.clock.advance(31 * 60);
    expect((await problemOf(previewVerification(f.deps, tokenOf(f.mailer.verifyLink())))).problem.status).toBe(410);
  });
});

describe('verifyRequest', () => {
  it('verifies, checks eligibility and queues the erasure: one workflow start, a confirmation email', async () => {
    const f = await makeFixture();
    const { requestId } = await submit(f, { email: EMAIL }, CLIENT);
    f.clock.advance(120);
    const result = await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink()));

    expect(result).toMatchObject({ requestId, status: 'QUEUED' });
    expect(f.workflow.starts).toEqual([{ requestId, attempt: 1 }]);
    const events = f.store.events.get(requestId)!;
    expect(events.map((e) => e.type)).toEqual(['REQUEST_RECEIVED', 'VERIFICATION_SENT', 'IDENTITY_VERIFIED', 'NOTICE_SENT', 'ERASURE_QUEUED']);
    expect(events[2]!.actor).toBe('subject');
    expect(events[4]!.details).toMatchObject({ eligibility: 'eligible', snapshotVersion: SNAPSHOT.version, snapshotAgeSeconds: 3720 });
    expect(verifyChain(requestId, events).ok).toBe(true);
    expect(f.mailer.sent.map((m) => m.kind)).toEqual(['verification', 'confirmation']);
    expect(f.mailer.sent[1]!.text).toContain('we have started erasing');
    expect(f.snapshots.lookups).toBe(1);
  });

  it('queues without a snapshot and records that the decision was deferred to the workflow', async () => {
    const f = await makeFixture();
    f.snapshots.info = undefined;
    const { requestId } = await submit(f, { email: EMAIL }, CLIENT);
    await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink()));
    expect(f.store.requests.get(requestId)!.status).toBe('QUEUED');
    expect(f.store.events.get(requestId)!.at(-1)!.details).toMatchObject({ eligibility: 'deferred', reason: 'NO_SNAPSHOT' });
  });

  it('refuses a reused link', async () => {
    const f = await makeFixture();
    await submit(f, { email: EMAIL }, CLIENT);
    const token = tokenOf(f.mailer.verifyLink());
    await verifyRequest(f.deps, token);
    const refused = await problemOf(verifyRequest(f.deps, token));
    expect(refused.problem).toMatchObject({ status: 410, type: expect.stringContaining('link-used') });
    expect(f.workflow.starts).toHaveLength(1);
  });

  it('refuses an expired link with 410 and leaves the request unverified', async () => {
    const f = await makeFixture();
    const { requestId } = await submit(f, { email: EMAIL }, CLIENT);
    f.clock.advance(31 * 60);
    const refused = await problemOf(verifyRequest(f.deps, tokenOf(f.mailer.verifyLink())));
    expect(refused.problem).toMatchObject({ status: 410, type: expect.stringContaining('link-expired') });
    expect(f.store.requests.get(requestId)!.status).toBe('AWAITING_VERIFICATION');
  });

  it.each([
    ['missing', undefined],
    ['garbage', 'not-a-token'],
    ['signed with another key', 'OTHER'],
    ['a status token instead of a link', 'STATUS'],
  ])('refuses a %s token with 400', async (_name, kind) => {
    const f = await makeFixture();
    const { statusUrl, requestId } = await submit(f, { email: EMAIL }, CLIENT);
    let token = kind;
    if (kind === 'OTHER') token = (await createVerifyToken(new Uint8Array(32).fill(9), requestId, f.clock.now())).token;
    if (kind === 'STATUS') token = tokenOf(statusUrl);
    const refused = await problemOf(verifyRequest(f.deps, token));
    expect(refused.problem.status).toBe(400);
    expect(f.store.requests.get(requestId)!.status).toBe('AWAITING_VERIFICATION');
  });

  it('refuses the link of a request that lapsed meanwhile', async () => {
    const f = await makeFixture();
    const { requestId } = await submit(f, { email: EMAIL }, CLIENT);
    await f.store.advance(requestId, { type: 'REQUEST_EXPIRED', actor: 'system:sweeper', status: 'EXPIRED', details: {} });
    const refused = await problemOf(verifyRequest(f.deps, tokenOf(f.mailer.verifyLink())));
    expect(refused.problem).toMatchObject({ status: 410, type: expect.stringContaining('request-closed') });
  });

  it('lets a second (re-sent) link of an already verified request lead to its status without queueing twice', async () => {
    const f = await makeFixture();
    const { requestId } = await submit(f, { email: EMAIL }, CLIENT);
    f.clock.advance(11 * 60);
    await submit(f, { email: EMAIL }, CLIENT);
    await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink(0)));
    const second = await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink(1)));
    expect(second).toMatchObject({ requestId, status: 'QUEUED' });
    expect(f.workflow.starts).toHaveLength(1);
  });

  it('leaves a request QUEUED for the sweeper when the workflow cannot be started', async () => {
    const f = await makeFixture();
    const { requestId } = await submit(f, { email: EMAIL }, CLIENT);
    f.workflow.failNext = 1;
    const result = await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink()));
    expect(result.status).toBe('QUEUED');
    expect(f.store.requests.get(requestId)!.status).toBe('QUEUED');
    expect(f.logs.some((l) => l.errorName === 'Error' && l.requestId === requestId)).toBe(true);
  });

  const identity = (over: Partial<PrivilegedIdentity>): Omit<PrivilegedIdentity, 'subjectHash'> => ({
    accountOwner: false,
    accountMember: true,
    ownedBotIds: [],
    coDeveloperBotIds: [],
    ...over,
  });

  it.each<[string, Omit<PrivilegedIdentity, 'subjectHash'>, EligibilityRule, string[], RegExp]>([
    ['an account owner', identity({ accountOwner: true }), 'ACCOUNT_OWNER', [], /Transfer ownership of the account/],
    ['an account member', identity({}), 'ACCOUNT_MEMBER', [], /remove you from the account/],
    ['a bot owner', identity({ ownedBotIds: [BOT_B, BOT_A] }), 'BOT_OWNER', [BOT_A, BOT_B], /transfer ownership of the 2 bots/],
    ['a co-developer', identity({ coDeveloperBotIds: [BOT_C] }), 'BOT_CO_DEVELOPER', [BOT_C], /remove you from the bot listed below/],
  ])('rejects %s naming the rule and bots, and emails the reasons with Art. 12(4) wording', async (_who, id, rule, botIds, whatToDo) => {
    const f = await makeFixture();
    f.snapshots.identities.set(hashOf(f, EMAIL), { subjectHash: hashOf(f, EMAIL), ...id });
    const { requestId, statusUrl } = await submit(f, { email: EMAIL }, CLIENT);
    const result = await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink()));

    expect(result.status).toBe('REJECTED');
    expect(f.workflow.starts).toHaveLength(0);
    const request = f.store.requests.get(requestId)!;
    expect(request.rejection).toEqual({ rule, botIds, source: 'snapshot' });
    const rejected = f.store.events.get(requestId)!.find((e) => e.type === 'REQUEST_REJECTED')!;
    expect(rejected.details).toMatchObject({ rule, botIds, source: 'snapshot', snapshotVersion: 'snap-1', snapshotTakenAt: SNAPSHOT.takenAt, snapshotAgeSeconds: 3600 });

    const mail = f.mailer.sent.find((m) => m.kind === 'rejection')!;
    expect(mail.to).toBe(EMAIL.toLowerCase()); // the stored (normalised) id
    expect(mail.text).toMatch(whatToDo);
    expect(mail.text).toContain('Article 12(4)');
    expect(mail.text).toContain('lodge a complaint with a supervisory authority');
    expect(mail.text).toContain('the Example Data Protection Authority');
    expect(mail.text).toContain('judicial remedy');
    for (const bot of botIds) expect(mail.text).toContain(bot);

    const view = await getStatus(f.deps, requestId, tokenOf(statusUrl));
    expect(view.rejection).toMatchObject({ rule, botIds, whatToDo: expect.stringMatching(whatToDo) });
  });
});

describe('getStatus', () => {
  it('shows a subject-safe timeline and the due date to the holder of the status token', async () => {
    const f = await makeFixture();
    const { requestId, statusUrl } = await submit(f, { email: EMAIL }, CLIENT);
    await verifyRequest(f.deps, tokenOf(f.mailer.verifyLink()));
    const view = await getStatus(f.deps, requestId, tokenOf(statusUrl));

    expect(view).toMatchObject({ requestId, status: 'QUEUED', dueAt: '2026-04-10T09:00:00.000Z', scope: { allBots: true, botIds: [] } });
    expect(view.timeline.map((t) => t.title)).toEqual(['Request received', 'Confirmation email sent', 'Request confirmed', 'Erasure scheduled']);
    const json = JSON.stringify(view);
    expect(json).not.toMatch(/jane|snap-1|system:|subjectHash|NOTICE_SENT/i);
    expect(view.receipt).toBeUndefined();
  });

  it('answers the same 404 for a wrong token, a missing token, another request’s token and an unknown id', async () => {
    const f = await makeFixture();
    const mine = await submit(f, { email: EMAIL }, CLIENT);
    const other = await submit(f, { email: 'other@example.com' }, CLIENT);
    const attempts = [
      getStatus(f.deps, mine.requestId, undefined),
      getStatus(f.deps, mine.requestId, 'nonsense'),
      getStatus(f.deps, mine.requestId, tokenOf(other.statusUrl)),
      getStatus(f.deps, newRequestId(f.clock.now()), tokenOf(mine.statusUrl)),
      getStatus(f.deps, '../../etc/passwd', tokenOf(mine.statusUrl)),
    ];
    const problems = await Promise.all(attempts.map(problemOf));
    for (const p of problems) expect(p.problem).toEqual(problems[0]!.problem);
    expect(problems[0]!.problem.status).toBe(404);
  });
});

describe('submitOnBehalf', () => {
  const body = { subjectId: 'EMP-00042', reason: 'Letter of 3 March, reference 12', identityCheckedBy: 'ID card seen at the front desk' };

  it('records staff and reason, verifies by staff and queues an enterprise id', async () => {
    const f = await makeFixture();
    const result = await submitOnBehalf(f.deps, body, 'staff:ops-anna');
    expect(result).toMatchObject({ status: 'QUEUED', existing: false });
    const request = f.store.requests.get(result.requestId)!;
    expect(request).toMatchObject({ channel: 'ops', subjectKind: 'enterpriseId', scopeKey: '*' });
    expect(request.subjectHash).toBe(hashSubject('EMP-00042', f.deps.subjectKeys.hmacKey));
    const events = f.store.events.get(result.requestId)!;
    expect(events.map((e) => e.type)).toEqual(['REQUEST_RECEIVED', 'IDENTITY_VERIFIED', 'ERASURE_QUEUED']);
    expect(events[0]).toMatchObject({ actor: 'staff:ops-anna', details: { reason: body.reason } });
    expect(events[1]).toMatchObject({ actor: 'staff:ops-anna', details: { verifiedBy: 'staff:ops-anna', identityCheckedBy: body.identityCheckedBy } });
    expect(f.workflow.starts).toHaveLength(1);
    expect(f.mailer.sent).toHaveLength(0);
  });

  it('refuses to run for anyone but staff (a wiring mistake, not a client error)', async () => {
    const f = await makeFixture();
    await expect(submitOnBehalf(f.deps, body, 'subject')).rejects.toThrow(TypeError);
    expect(f.store.requests.size).toBe(0);
  });

  it('is idempotent like a web submission', async () => {
    const f = await makeFixture();
    const first = await submitOnBehalf(f.deps, body, 'staff:ops-anna');
    const again = await submitOnBehalf(f.deps, { ...body, reason: 'Phone call, same person again' }, 'staff:ops-ben');
    expect(again).toMatchObject({ requestId: first.requestId, existing: true });
    expect(f.store.requests.size).toBe(1);
  });

  it('returns the rejection with plain words for staff to pass on', async () => {
    const f = await makeFixture();
    const hash = hashSubject('EMP-00042', f.deps.subjectKeys.hmacKey);
    f.snapshots.identities.set(hash, { subjectHash: hash, accountOwner: false, accountMember: true, ownedBotIds: [BOT_A], coDeveloperBotIds: [] });
    const result = await submitOnBehalf(f.deps, body, 'staff:ops-anna');
    expect(result.rejection).toMatchObject({ rule: 'BOT_OWNER', botIds: [BOT_A], title: 'You own one or more bots' });
  });

  it.each([
    [{ ...body, subjectId: 'has space' }, 'subjectId'],
    [{ ...body, subjectId: 'x'.repeat(129) }, 'subjectId'],
    [{ ...body, subjectId: 'bad@' }, 'subjectId'],
    [{ ...body, reason: 'too short' }, 'reason'],
    [{ ...body, reason: 'r'.repeat(501) }, 'reason'],
    [{ ...body, identityCheckedBy: undefined }, 'identityCheckedBy'],
    [{ ...body, reason: 'a reason with a \u0007 bell in it' }, 'reason'],
    [{ ...body, extra: 1 }, 'extra'],
  ])('refuses invalid staff input %# naming %s', async (input, field) => {
    const f = await makeFixture();
    const refused = await problemOf(submitOnBehalf(f.deps, input, 'staff:ops-anna'));
    expect(refused.problem.status).toBe(422);
    expect(refused.problem.errors!.map((e) => e.field)).toContain(field);
    expect(f.store.requests.size).toBe(0);
  });
});

describe('continueVerified (the sweeper’s hook)', () => {
  it('queues a request left VERIFIED and tells the subject once', async () => {
    const f = await makeFixture();
    const { requestId } = await submit(f, { email: EMAIL }, CLIENT);
    await f.store.advance(requestId, { type: 'IDENTITY_VERIFIED', actor: 'subject', status: 'VERIFIED', details: {} });
    await continueVerified(f.deps, requestId);
    await continueVerified(f.deps, requestId);
    expect(f.store.requests.get(requestId)!.status).toBe('QUEUED');
    expect(f.workflow.starts).toHaveLength(1);
    expect(f.mailer.sent.filter((m) => m.kind === 'confirmation')).toHaveLength(1);
  });
});

describe('identifiers and scope', () => {
  it('gives the same scope key, and so the same request, for any order and repetition of the same bots', async () => {
    const bots = [BOT_A, BOT_B, BOT_C];
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...bots), { minLength: 1, maxLength: 8 }), fc.array(fc.constantFrom(...bots), { minLength: 1, maxLength: 8 }), async (xs, ys) => {
        const same = new Set(xs).size === new Set(ys).size && [...new Set(xs)].every((x) => ys.includes(x));
        expect(scopeKeyOf(xs) === scopeKeyOf(ys)).toBe(same);
        const f = await makeFixture();
        const a = await submit(f, { email: EMAIL, botIds: xs }, CLIENT);
        const b = await submit(f, { email: EMAIL, botIds: ys }, CLIENT);
        expect(a.requestId === b.requestId).toBe(same);
      }),
      { numRuns: 40 },
    );
  });

  it('makes time-ordered request ids whose creation time can be read back', () => {
    const at = new Date('2026-03-10T09:00:00.123Z');
    const id = newRequestId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestIdTime(id)).toEqual(at);
    expect(newRequestId(new Date(at.getTime() + 1)) > id).toBe(true);
    expect(requestIdTime('not-a-v7-id')).toBeUndefined();
  });
});

describe('subjectTimeline', () => {
  const at = (n: number) => `2026-03-10T09:${String(n).padStart(2, '0')}:00.000Z`;
  const event = (n: number, type: AuditEvent['type'], status: AuditEvent['status'], actor: AuditEvent['actor'] = 'system:workflow') =>
    ({ requestId: 'r', seq: n, type, at: at(n), actor, attempt: 1, status, details: {}, prevHash: '', hash: '' }) as AuditEvent;

  it('shows the steps a person cares about, one "in progress" per attempt, and nothing internal', () => {
    const entries = subjectTimeline([
      event(1, 'REQUEST_RECEIVED', 'RECEIVED', 'subject'),
      event(2, 'VERIFICATION_SENT', 'AWAITING_VERIFICATION', 'system:intake'),
      event(3, 'IDENTITY_VERIFIED', 'VERIFIED', 'subject'),
      event(4, 'NOTICE_SENT', 'VERIFIED', 'system:intake'),
      event(5, 'ERASURE_QUEUED', 'QUEUED', 'system:intake'),
      event(6, 'ERASURE_SUBMITTED', 'SUBMITTED'),
      event(7, 'STATUS_CHECKED', 'IN_PROGRESS'),
      event(8, 'STATUS_CHECKED', 'IN_PROGRESS'),
      event(9, 'ERASURE_FAILED', 'FAILED'),
      event(10, 'RETRY_REQUESTED', 'QUEUED', 'staff:ops'),
      event(11, 'STATUS_CHECKED', 'IN_PROGRESS'),
      event(12, 'ERASURE_COMPLETED', 'COMPLETED'),
    ]);
    expect(entries.map((e) => `${e.at.slice(14, 16)} ${e.title} (${e.tone})`)).toEqual([
      '01 Request received (done)',
      '02 Confirmation email sent (info)',
      '03 Request confirmed (done)',
      '05 Erasure scheduled (info)',
      '06 Erasure sent to the platform (done)',
      '07 Erasure in progress (info)',
      '09 Erasure not finished (problem)',
      '10 Erasure scheduled again (info)',
      '11 Erasure in progress (info)',
      '12 Erasure completed (done)',
    ]);
    expect(entries[2]!.text).toBe('You confirmed your email address.');
    expect(subjectTimeline([event(1, 'IDENTITY_VERIFIED', 'VERIFIED', 'staff:desk')])[0]!.text).toBe('Our staff checked your identity.');
  });
});

