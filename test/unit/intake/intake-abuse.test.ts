/**
 * The intake's abuse rules, as use cases over the in-memory fakes: nothing a stranger types can
 * lock an address out, bot ids must exist, open bot-limited scopes are capped, mails per mailbox
 * are bounded (plus and case variants count as one mailbox), reminders go to the stored address,
 * IPv6 clients count per /64, and status links end with their request or when ops revoke them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SnapshotExpiredError } from '../../../functions/adapters/dynamo/errors';
import type { AuditEvent } from '../../../functions/domain/model';
import { hashSubject, normaliseSubjectId } from '../../../functions/domain/subject';
import { BotListUnavailableError, UnknownBotsError } from '../../../functions/domain/errors';
import { closedAt, createStatusToken, statusLinkOpen, STATUS_LINK_RETENTION_DAYS } from '../../../functions/intake/links';
import { mailboxOf } from '../../../functions/intake/mail-budget';
import { createPublicApi } from '../../../functions/adapters/http/public/public-api';
import { getStatus } from '../../../functions/intake/get-status';
import { DEFAULT_LIMITS, lastVerificationMailAt, scopeKeyOf } from '../../../functions/intake/intake-deps';
import { submitRequest } from '../../../functions/intake/submit-request';
import { previewVerification } from '../../../functions/intake/verify-request';
import { RateLimitedError } from '../../../functions/domain/errors';
import { apiEvent, KNOWN_BOTS, makeFixture, SNAPSHOT, type Fixture } from '../../support/intake-fakes';

const VICTIM = 'victim@example.com';
const [BOT_A, BOT_B, BOT_C, BOT_D, BOT_E] = KNOWN_BOTS as [string, string, string, string, string];
/** A well-formed bot id no bot of the account has. */
const madeUpBot = (i: number) => `st-${String(i).padStart(8, '0')}-9999-4999-8999-999999999999`;
const ANSWER = { message: expect.stringMatching(/^Check your email\./), linkValidMinutes: 30 };

let clientCounter = 0;
/** A fresh client each time, so the per-client limit never gets in the way of what is tested. */
const anyClient = () => ({ ip: `198.51.${Math.floor(++clientCounter / 250) % 250}.${(clientCounter % 250) + 1}` });
const hashOf = (f: Fixture, email: string) => hashSubject(normaliseSubjectId(email, 'email'), f.deps.subjectKeys.hmacKey);
const mailsInto = (f: Fixture, mailbox: string) => f.mailer.sent.filter((m) => mailboxOf(m.to) === mailbox);
const requestsOf = (f: Fixture, email: string) => [...f.store.requests.values()].filter((r) => r.subjectHash === hashOf(f, email));

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('bot ids must be bots of the organisation', () => {
  it('refuses made-up bot ids naming them, before anything is written, claimed or counted against the address', async () => {
    const f = await makeFixture();
    const error = await rejection(submitRequest(f.deps, { email: VICTIM, botIds: [BOT_A, madeUpBot(1)] }, anyClient()));
    expect(error).toBeInstanceOf(UnknownBotsError);
    expect((error as UnknownBotsError).botIds).toEqual([madeUpBot(1)]);
    expect((error as UnknownBotsError).name).toBe('UnknownBotsError');
    expect(f.store.requests.size).toBe(0);
    expect(f.claims.claims.size).toBe(0);
    expect(f.mailer.sent).toHaveLength(0);
  });

  it('answers an unknown bot id with a 422 problem naming the botIds field', async () => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    const res = await api(apiEvent({ method: 'POST', path: '/requests', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ email: VICTIM, botIds: [madeUpBot(7)] }) }));
    expect(res.statusCode).toBe(422);
    expect(res.headers!['content-type']).toMatch(/application\/problem\+json/);
    const body = JSON.parse(res.body!) as { errors: { field: string; message: string }[] };
    expect(body.errors).toEqual([{ field: 'botIds', message: expect.stringContaining(madeUpBot(7)) }]);
  });

  it('shows a browser the form again with the unknown id named at the bot field', async () => {
    const f = await makeFixture();
    const api = createPublicApi(f.deps);
    const form = await api(apiEvent({ path: '/', headers: { accept: 'text/html' } }));
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.body!)![1]!;
    const res = await api(
      apiEvent({
        method: 'POST',
        path: '/requests',
        headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
        cookies: [form.cookies![0]!.split(';')[0]!],
        body: `csrf=${encodeURIComponent(csrf)}&email=${encodeURIComponent(VICTIM)}&botIds=${madeUpBot(3)}`,
      }),
    );
    expect(res.statusCode).toBe(422);
    expect(res.body).toMatch(new RegExp(`<a href="#botIds">There is no bot ${madeUpBot(3)} in this organisation`));
    expect(f.store.requests.size).toBe(0);
  });

  it.each([
    ['there is no snapshot yet', undefined, false],
    ['the snapshot was written before it carried the bot list', { ...SNAPSHOT, botCount: undefined }, false],
    ['the snapshot is past its retention', SNAPSHOT, true],
  ])('refuses named bots (fail-safe, 503) but takes an all-bots request when %s', async (_case, info, expired) => {
    const f = await makeFixture();
    f.snapshots.info = info && { ...info };
    if (expired) f.snapshots.knownBots = async () => Promise.reject(new SnapshotExpiredError(SNAPSHOT.version));
    const error = await rejection(submitRequest(f.deps, { email: VICTIM, botIds: [BOT_A] }, anyClient()));
    expect(error).toBeInstanceOf(BotListUnavailableError);
    expect(f.store.requests.size).toBe(0);

    const res = await createPublicApi(f.deps)(
      apiEvent({ method: 'POST', path: '/requests', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: VICTIM, botIds: [BOT_A] }), ip: '192.0.2.1' }),
    );
    expect(res.statusCode).toBe(503);
    expect(res.headers!['retry-after']).toBe('300');
    expect(JSON.parse(res.body!)).toMatchObject({ type: expect.stringContaining('bots-unchecked'), errors: [{ field: 'botIds' }] });

    expect(await submitRequest(f.deps, { email: VICTIM }, anyClient())).toEqual(ANSWER);
    expect(requestsOf(f, VICTIM)).toHaveLength(1);
  });

  it('lets five submissions with made-up bot ids leave the person free to ask: they get their request and its mail', async () => {
    const f = await makeFixture();
    for (let i = 0; i < 5; i++) expect(await rejection(submitRequest(f.deps, { email: VICTIM, botIds: [madeUpBot(i)] }, anyClient()))).toBeInstanceOf(UnknownBotsError);
    expect(await submitRequest(f.deps, { email: VICTIM }, anyClient())).toEqual(ANSWER);
    expect(requestsOf(f, VICTIM).map((r) => r.status)).toEqual(['AWAITING_VERIFICATION']);
    expect(f.mailer.sent).toEqual([expect.objectContaining({ to: VICTIM, kind: 'verification' })]);
  });
});

describe('what counts per address and per mailbox', () => {
  it('counts nothing for submissions that match an open request: a new scope afterwards still gets its request and mail', async () => {
    const f = await makeFixture();
    await submitRequest(f.deps, { email: VICTIM, botIds: [BOT_A] }, anyClient());
    for (let i = 0; i < 50; i++) expect(await submitRequest(f.deps, { email: VICTIM, botIds: [BOT_A] }, anyClient())).toEqual(ANSWER);
    expect(f.mailer.sent).toHaveLength(1);

    await submitRequest(f.deps, { email: VICTIM, botIds: [BOT_B] }, anyClient());
    expect(requestsOf(f, VICTIM).map((r) => r.scopeKey).sort()).toEqual([BOT_A, BOT_B]);
    expect(f.mailer.sent).toHaveLength(2);
  });

  it('holds at most three open bot-limited requests per address, answering the same, while all bots always gets through', async () => {
    const f = await makeFixture();
    const answers = [];
    for (const bot of [BOT_A, BOT_B, BOT_C, BOT_D, BOT_E]) answers.push(await submitRequest(f.deps, { email: VICTIM, botIds: [bot] }, anyClient()));
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(requestsOf(f, VICTIM).map((r) => r.scopeKey)).toEqual([BOT_A, BOT_B, BOT_C]);
    expect(f.claims.claims.size).toBe(DEFAULT_LIMITS.openBotScopesPerAddress);
    expect(f.logs.filter((l) => l.reason === 'OPEN_BOT_SCOPES_CAP')).toHaveLength(2);
    expect(JSON.stringify(f.logs)).not.toContain('victim');

    await submitRequest(f.deps, { email: VICTIM }, anyClient());
    expect(requestsOf(f, VICTIM).map((r) => r.scopeKey)).toContain('*');

    // A slot frees up when one of them ends.
    const [first] = requestsOf(f, VICTIM);
    await f.store.advance(first!.requestId, { type: 'REQUEST_EXPIRED', actor: 'system:sweeper', status: 'EXPIRED', details: {} });
    await submitRequest(f.deps, { email: VICTIM, botIds: [BOT_D] }, anyClient());
    expect(requestsOf(f, VICTIM).map((r) => r.scopeKey)).toContain(BOT_D);
  });

  it('bounds the mails plus and case variants send into one mailbox, and never the address’s own all-bots request', async () => {
    const f = await makeFixture();
    const variants = [...Array.from({ length: 10 }, (_, i) => `victim+${i}@example.com`), 'VICTIM+x@EXAMPLE.COM', 'Victim+Y@Example.com'];
    const answers = await Promise.all(variants.map((email) => submitRequest(f.deps, { email }, anyClient())));
    for (const a of answers) expect(a).toEqual(ANSWER);
    expect(mailsInto(f, VICTIM)).toHaveLength(DEFAULT_LIMITS.perMailbox.limit);
    expect(f.logs.filter((l) => l.reason === 'MAILBOX_BUDGET')).toHaveLength(variants.length - DEFAULT_LIMITS.perMailbox.limit);

    await submitRequest(f.deps, { email: 'VICTIM@Example.com' }, anyClient());
    const own = requestsOf(f, VICTIM);
    expect(own.map((r) => r.scopeKey)).toEqual(['*']);
    expect(mailsInto(f, VICTIM).at(-1)).toMatchObject({ kind: 'verification', requestId: own[0]!.requestId });

    // The next hour the variants get their small budget back, no more.
    f.clock.advance(3600);
    for (const email of variants) await submitRequest(f.deps, { email }, anyClient());
    expect(mailsInto(f, VICTIM)).toHaveLength(2 * DEFAULT_LIMITS.perMailbox.limit + 1);
  });

  it('mails a reminder of an open request to the address stored with it, not the spelling typed this time', async () => {
    const f = await makeFixture();
    await submitRequest(f.deps, { email: ' Victim@Example.com ' }, anyClient());
    f.clock.advance(11 * 60);
    await submitRequest(f.deps, { email: 'VICTIM@EXAMPLE.COM' }, anyClient());
    expect(f.mailer.sent.map((m) => [m.kind, m.to])).toEqual([
      ['verification', 'Victim@Example.com'],
      ['verification', VICTIM],
    ]);
  });

  it('counts IPv6 clients per /64: the 31st submission from one /64 is refused, another /64 is not', async () => {
    const f = await makeFixture();
    for (let i = 0; i < DEFAULT_LIMITS.perClient.limit; i++) await submitRequest(f.deps, { email: `user${i}@example.com` }, { ip: `2001:db8:aa:1::${(i + 1).toString(16)}` });
    const refused = await rejection(submitRequest(f.deps, { email: 'another@example.com' }, { ip: '2001:db8:aa:1:ffff:ffff:ffff:ffff' }));
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(await submitRequest(f.deps, { email: 'another@example.com' }, { ip: '2001:db8:aa:2::1' })).toEqual(ANSWER);
    expect([...f.rateLimiter.hits.keys()].join()).not.toContain('2001');
  });
});

describe('nobody can keep the address’s owner from a working confirmation link', () => {
  type Step = { wait: number; email: string; botIds: string[]; sweep: boolean };
  const step: fc.Arbitrary<Step> = fc.record({
    wait: fc.integer({ min: 0, max: 20 * 60 }),
    email: fc.constantFrom(VICTIM, 'VICTIM@example.com', 'victim+1@example.com', 'victim+2@example.com', 'Victim+3@Example.COM'),
    botIds: fc.constantFrom([], [BOT_A], [BOT_B], [BOT_C], [BOT_D], [BOT_A, BOT_B]),
    // Whether the sweeper ran since the last step (it expires requests whose link ran out).
    sweep: fc.boolean(),
  });

  /** The sweeper's expiry: a request awaiting verification whose newest link has expired lapses. */
  async function sweep(f: Fixture): Promise<void> {
    for (const r of [...f.store.requests.values()]) {
      if (r.status !== 'AWAITING_VERIFICATION') continue;
      const last = lastVerificationMailAt(f.store.events.get(r.requestId)!)!;
      if (f.clock.now().getTime() - last.getTime() >= 30 * 60_000) {
        await f.store.advance(r.requestId, { type: 'REQUEST_EXPIRED', actor: 'system:sweeper', status: 'EXPIRED', details: {}, at: f.clock.now().toISOString() }, { subjectCipher: null });
      }
    }
  }

  it('after any sequence of strangers’ submissions, the owner asking for all bots holds a link that works, and the mailbox got a bounded number of mails', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 25 }), fc.integer({ min: 0, max: 40 * 60 }), async (steps, victimWait) => {
        const f = await makeFixture();
        const sentAt = recordSendTimes(f);
        for (const s of steps) {
          f.clock.advance(s.wait);
          if (s.sweep) await sweep(f);
          expect(await submitRequest(f.deps, { email: s.email, botIds: s.botIds }, anyClient())).toEqual(ANSWER);
        }
        f.clock.advance(victimWait);
        if (victimWait % 2 === 0) await sweep(f);
        expect(await submitRequest(f.deps, { email: VICTIM }, anyClient())).toEqual(ANSWER);

        // The owner's open all-bots request, and the newest link mailed for it: it still works.
        const requestId = f.claims.claims.get(`${hashOf(f, VICTIM)}|${scopeKeyOf([])}`)!;
        expect(f.store.requests.get(requestId)!.status).toBe('AWAITING_VERIFICATION');
        const mail = f.mailer.sent.filter((m) => m.requestId === requestId && m.kind === 'verification').at(-1)!;
        expect(mailboxOf(mail.to)).toBe(VICTIM);
        const token = new URL(/https?:\/\/\S+\/verify\?token=\S+/.exec(mail.text)![0]).searchParams.get('token')!;
        expect(await previewVerification(f.deps, token)).toMatchObject({ state: 'confirm', requestId });

        // Mails into the mailbox: those of the address's own all-bots requests at least ten
        // minutes apart; all others at most `perMailbox` in any clock hour.
        expect(f.mailer.sent.every((m) => mailboxOf(m.to) === VICTIM)).toBe(true);
        const isOwn = (i: number) => f.store.requests.get(f.mailer.sent[i]!.requestId!)!.scopeKey === '*' && f.mailer.sent[i]!.to.toLowerCase() === VICTIM;
        const perHour = new Map<number, number>();
        const ownTimes: number[] = [];
        sentAt.forEach((time, i) => {
          if (isOwn(i)) ownTimes.push(time);
          else perHour.set(Math.floor(time / 3_600_000), (perHour.get(Math.floor(time / 3_600_000)) ?? 0) + 1);
        });
        for (const n of perHour.values()) expect(n).toBeLessThanOrEqual(DEFAULT_LIMITS.perMailbox.limit);
        for (let i = 1; i < ownTimes.length; i++) expect(ownTimes[i]! - ownTimes[i - 1]!).toBeGreaterThanOrEqual(DEFAULT_LIMITS.resendAfterSeconds * 1000);
      }),
      { numRuns: 60 },
    );
  });
});

describe('status links', () => {
  const DAY = 24 * 3600 * 1000;
  const at = (days: number) => new Date(Date.UTC(2026, 2, 10) + days * DAY).toISOString();
  const ev = (type: AuditEvent['type'], status: AuditEvent['status'], days: number) => ({ type, status, at: at(days) });
  const completed = [ev('REQUEST_RECEIVED', 'RECEIVED', 0), ev('IDENTITY_VERIFIED', 'VERIFIED', 0), ev('ERASURE_COMPLETED', 'COMPLETED', 2), ev('NOTICE_SENT', 'COMPLETED', 2)];
  const retried = [ev('REQUEST_RECEIVED', 'RECEIVED', 0), ev('ERASURE_FAILED', 'FAILED', 1), ev('RETRY_REQUESTED', 'QUEUED', 200)];
  const revoked = [...completed, ev('STATUS_LINKS_REVOKED', 'COMPLETED', 10)];

  it.each([
    ['an open request’s link works however old the request', retried, 0, 300, true],
    ['a link works the last day of the retention after the request ended', completed, 0, 2 + STATUS_LINK_RETENTION_DAYS, true],
    ['a link stops working once the retention after the end has passed', completed, 0, 2 + STATUS_LINK_RETENTION_DAYS + 0.01, false],
    ['a link issued before a revocation stops working', revoked, 3, 11, false],
    ['a link issued in the second of the revocation counts as revoked', revoked, 10, 11, false],
    ['a link issued after a revocation works', revoked, 10.001, 11, true],
    ['a link issued after a revocation still ends with the retention', revoked, 10.001, 2 + STATUS_LINK_RETENTION_DAYS + 1, false],
  ])('%s', (_rule, timeline, issuedDay, nowDay, open) => {
    const issuedAt = new Date(Math.floor(Date.parse(at(issuedDay)) / 1000) * 1000);
    expect(statusLinkOpen(timeline, issuedAt, new Date(at(nowDay)))).toBe(open);
  });

  it.each([
    ['an open request', retried, undefined],
    ['the event that made the request final, not a later notice', completed, at(2)],
  ])('closedAt of %s', (_case, timeline, expected) => {
    expect(closedAt(timeline)?.toISOString()).toBe(expected);
  });

  it('answers a revoked link and an outlived link with the very 404 of an unknown id', async () => {
    const f = await makeFixture();
    await submitRequest(f.deps, { email: VICTIM }, anyClient());
    const [request] = requestsOf(f, VICTIM);
    const id = request!.requestId;
    const link = await createStatusToken(f.deps.linkKey, id, f.clock.now());
    const unknown = await rejection(getStatus(f.deps, '0190aaaa-0000-7000-8000-000000000000', await createStatusToken(f.deps.linkKey, '0190aaaa-0000-7000-8000-000000000000', f.clock.now())));
    expect((await getStatus(f.deps, id, link)).requestId).toBe(id);

    f.clock.advance(5);
    await f.store.advance(id, { type: 'STATUS_LINKS_REVOKED', actor: 'staff:ops-anna', status: 'AWAITING_VERIFICATION', details: { reason: 'forwarded mail' }, at: f.clock.now().toISOString() });
    const revokedAnswer = await rejection(getStatus(f.deps, id, link));
    expect(revokedAnswer).toEqual(unknown);
    f.clock.advance(5);
    const fresh = await createStatusToken(f.deps.linkKey, id, f.clock.now());
    expect((await getStatus(f.deps, id, fresh)).requestId).toBe(id);

    await f.store.advance(id, { type: 'REQUEST_EXPIRED', actor: 'system:sweeper', status: 'EXPIRED', details: {}, at: f.clock.now().toISOString() });
    f.clock.advance(STATUS_LINK_RETENTION_DAYS * 24 * 3600 + 60);
    expect(await rejection(getStatus(f.deps, id, fresh))).toEqual(unknown);
  });
});

/** The fake clock's time of every mail handed to the mailer, in the order of `mailer.sent`. */
function recordSendTimes(f: Fixture): number[] {
  const times: number[] = [];
  const send = f.mailer.send.bind(f.mailer);
  f.mailer.send = async (mail) => {
    times.push(f.clock.now().getTime());
    return send(mail);
  };
  return times;
}
