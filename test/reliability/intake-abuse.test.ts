/**
 * Part 8, intake abuse against the local runtime: what a stranger who knows someone's address can
 * do with the public form, and what they cannot. Each test failed on the intake as it was (a
 * per-address allowance of five submissions an hour, any well-formed bot id, reminders to the
 * address as typed, IPv6 clients counted per address, status links valid for 400 days whatever
 * became of the request) and passes now.
 *
 * Over real HTTP from distinct loopback clients, except the IPv6 part: the local server listens
 * on 127.0.0.1 only, so those submissions go to the runtime's own public handler with an IPv6
 * source address in the API Gateway event, exactly as API Gateway would hand them over.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../functions/intake/intake-deps';
import { STATUS_LINK_RETENTION_DAYS } from '../../functions/intake/links';
import { mailboxOf } from '../../functions/intake/mail-budget';
import { DEMO_BOTS } from '../../infra/local/kore-sim';
import { auditDetail, clientAddress, confirmLink, freshEmail, printFigures, raw, readOutbox, startReliabilityRuntime, tally, verificationLinks, type ReliabilityRuntime } from './harness';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' };
const DAY_MS = 24 * 3600 * 1000;
/** A well-formed bot id no bot of the demo account has. */
const madeUpBot = (i: number) => `st-${String(i).padStart(8, '0')}-dead-4bad-8bad-${String(i).padStart(12, '0')}`;

/** The functions' clock runs `offsetMs` ahead of the real one; tests only ever move it forward. */
let offsetMs = 0;
function setOffset(ms: number): void {
  offsetMs = ms;
  rt.advanceClock(0);
  if (ms) rt.advanceClock(ms);
}
let rt: ReliabilityRuntime;
beforeAll(async () => {
  rt = await startReliabilityRuntime({ simulator: { jobDurationMs: 200 }, controllableClock: true });
});
afterAll(async () => rt?.close());

let clients = 0;
/** POST /requests as JSON from a loopback client of its own. */
function submit(body: Record<string, unknown>): ReturnType<typeof raw> {
  return raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(70_000 + clients++), headers: JSON_HEADERS, body: JSON.stringify(body) });
}

/** Every mail in the outbox that reached `mailbox` (whatever spelling it was sent to), oldest first. */
async function mailbox(address: string) {
  return (await readOutbox(rt.url)).filter((m) => mailboxOf(m.to) === mailboxOf(address)).reverse();
}

async function listedFor(email: string): Promise<{ requestId: string; status: string; scope: { botIds: string[] } }[]> {
  const r = await raw(`${rt.url}/audit/requests?subject=${encodeURIComponent(email)}`, { headers: { authorization: `Bearer ${rt.auditorToken}` } });
  return (JSON.parse(r.text) as { items: { requestId: string; status: string; scope: { botIds: string[] } }[] }).items;
}

async function waitStatus(id: string, status: string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if ((await auditDetail(rt.url, rt.auditorToken, id)).request.status === status) return rt.idle();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${id} never reached ${status}`);
}

/** Confirms the newest verification link of `requestId` and waits for the erasure to complete. */
async function confirmAndComplete(requestId: string): Promise<void> {
  const link = verificationLinks(await readOutbox(rt.url)).get(requestId);
  expect(link).toBeDefined();
  expect((await confirmLink(link!)).status).toBe(303);
  await waitStatus(requestId, 'COMPLETED');
}

const statusLinkIn = (text: string) => /https?:\/\/\S+\/requests\/[\w-]+\?token=[\w.-]+/.exec(text)![0];
const openPage = (url: string) => raw(url, { headers: { accept: 'application/json' } });

describe('intake abuse', () => {
  it('five submissions with made-up bot ids for someone else’s address leave that person their request and its mail', async () => {
    const victim = freshEmail('abuse-bots');
    const attacks = [];
    for (let i = 0; i < 5; i++) attacks.push(await submit({ email: victim, botIds: [madeUpBot(i)] }));
    const own = await submit({ email: victim });
    const mails = await mailbox(victim);
    const listed = await listedFor(victim);

    printFigures('intake abuse / made-up bot ids', { attackerAnswers: tally(attacks.map((a) => String(a.status))), ownAnswer: own.status, mails: mails.length, requests: listed.length });
    for (const a of attacks) {
      expect(a.status).toBe(422);
      expect(JSON.parse(a.text)).toMatchObject({ errors: [{ field: 'botIds', message: expect.stringContaining('no bot') }] });
    }
    expect(own.status).toBe(202);
    expect(listed.map((r) => [r.status, r.scope.botIds])).toEqual([['AWAITING_VERIFICATION', []]]);
    expect(mails.map((m) => [m.kind, m.to, m.requestId])).toEqual([['verification', victim, listed[0]!.requestId]]);
  });

  it('strangers filling bot scopes and plus and case variants cannot keep the owner from a working link, and the mailbox gets a bounded number of mails', async () => {
    const victim = freshEmail('abuse-flood');
    const [local, domain] = victim.split('@') as [string, string];
    const { support, billing, hr } = DEMO_BOTS;
    const scopes = [[support.botId], [billing.botId], [hr.botId], [support.botId, billing.botId], [billing.botId, hr.botId]];
    const variants = [...Array.from({ length: 8 }, (_, i) => `${local}+${i}@${domain}`), `${local.toUpperCase()}+X@${domain.toUpperCase()}`];

    const answers = [];
    for (const botIds of scopes) answers.push(await submit({ email: victim, botIds }));
    for (const email of variants) answers.push(await submit({ email }));
    // Asking again for an open scope costs nothing and counts against nothing.
    for (let i = 0; i < 20; i++) answers.push(await submit({ email: victim.toUpperCase(), botIds: scopes[0] }));
    const beforeOwner = await mailbox(victim);
    const heldOpen = await listedFor(victim);

    const own = await submit({ email: victim });
    const afterOwner = await mailbox(victim);
    const ownRequest = (await listedFor(victim)).find((r) => r.scope.botIds.length === 0)!;

    // Eleven minutes on, someone types the address in capitals: the owner's link is mailed again,
    // to the address stored with the request, not to the spelling typed this time.
    setOffset(offsetMs + 11 * 60_000);
    expect((await submit({ email: `  ${victim.toUpperCase()} ` })).status).toBe(202);
    const reminder = (await mailbox(victim)).slice(afterOwner.length);
    await confirmAndComplete(ownRequest.requestId);

    printFigures('intake abuse / flood of scopes and variants', {
      strangerSubmissions: answers.length,
      answers: tally(answers.map((a) => String(a.status))),
      distinctAnswerTexts: new Set(answers.map((a) => a.text)).size,
      mailsIntoMailboxBeforeOwner: beforeOwner.length,
      openBotScopesOfAddress: heldOpen.length,
      ownerMails: afterOwner.length - beforeOwner.length,
      reminderTo: reminder.map((m) => (m.to === victim ? 'stored address' : 'typed spelling')),
      ownerRequest: 'COMPLETED',
    });
    expect(answers.every((a) => a.status === 202)).toBe(true);
    expect(new Set([...answers, own].map((a) => a.text)).size).toBe(1);
    expect(heldOpen).toHaveLength(DEFAULT_LIMITS.openBotScopesPerAddress);
    expect(beforeOwner).toHaveLength(DEFAULT_LIMITS.perMailbox.limit);
    expect(afterOwner.slice(beforeOwner.length).map((m) => [m.kind, m.to, m.requestId])).toEqual([['verification', victim, ownRequest.requestId]]);
    expect(reminder.map((m) => [m.kind, m.to, m.requestId])).toEqual([['verification', victim, ownRequest.requestId]]);
  });

  it('counts an IPv6 client per /64: a new address in the same /64 does not buy new submissions', async () => {
    const post = (ip: string, email: string) =>
      rt.invoke<{ statusCode?: number; headers?: Record<string, string> }>('public-api', {
        version: '2.0',
        routeKey: '$default',
        rawPath: '/requests',
        rawQueryString: '',
        headers: JSON_HEADERS,
        requestContext: { http: { method: 'POST', path: '/requests', protocol: 'HTTP/1.1', sourceIp: ip, userAgent: 'reliability' } },
        body: JSON.stringify({ email }),
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2);
    const answers: number[] = [];
    for (let i = 1; i <= DEFAULT_LIMITS.perClient.limit; i++) answers.push((await post(`2001:db8:77:1::${i.toString(16)}`, freshEmail('abuse-v6'))).statusCode!);
    const sameNetwork = await post('2001:db8:77:1:ffff:abcd:1234:5678', freshEmail('abuse-v6'));
    const otherNetwork = await post('2001:db8:77:2::1', freshEmail('abuse-v6'));

    printFigures('intake abuse / IPv6 per /64', { fromOneSlash64: tally(answers.map(String)), nextAddressSameSlash64: sameNetwork.statusCode, otherSlash64: otherNetwork.statusCode });
    expect(answers.every((s) => s === 202)).toBe(true);
    expect(sameNetwork.statusCode).toBe(429);
    expect(Number(sameNetwork.headers!['retry-after'])).toBeGreaterThan(0);
    expect(otherNetwork.statusCode).toBe(202);
  });

  it('ops revoke a request’s status links: the link then answers the very 404 of an unknown id, and the trail names who and why', async () => {
    const subject = freshEmail('abuse-revoke');
    expect((await submit({ email: subject })).status).toBe(202);
    const [request] = await listedFor(subject);
    await confirmAndComplete(request!.requestId);
    const link = statusLinkIn((await mailbox(subject)).at(-1)!.text);
    const token = new URL(link).searchParams.get('token')!;
    const unknown = await openPage(`${rt.url}/requests/0190aaaa-0000-7000-8000-000000000000?token=${encodeURIComponent(token)}`);
    const before = await openPage(link);

    const ops = { authorization: `Bearer ${rt.opsToken}`, 'content-type': 'application/json' };
    const noReason = await raw(`${rt.url}/ops/requests/${request!.requestId}/revoke-links`, { method: 'POST', headers: ops, body: '{}' });
    const revoked = await raw(`${rt.url}/ops/requests/${request!.requestId}/revoke-links`, { method: 'POST', headers: ops, body: JSON.stringify({ reason: 'the subject forwarded the mail by mistake' }) });
    const after = await openPage(link);
    const trail = await auditDetail(rt.url, rt.auditorToken, request!.requestId);

    printFigures('intake abuse / revoked status link', { before: before.status, revokeWithoutReason: noReason.status, revoke: revoked.status, after: after.status, unknownId: unknown.status, chainOk: trail.chain.ok });
    expect(before.status).toBe(200);
    expect(noReason.status).toBe(400);
    expect(revoked.status).toBe(200);
    expect([after.status, after.header('content-type'), after.text]).toEqual([unknown.status, unknown.header('content-type'), unknown.text]);
    expect(after.status).toBe(404);
    expect(trail.timeline.at(-1)).toMatchObject({ type: 'STATUS_LINKS_REVOKED', actor: 'staff:e2e-ops', status: 'COMPLETED', details: { reason: 'the subject forwarded the mail by mistake' } });
    expect(trail.chain.ok).toBe(true);
  });

  it('a status link works while its request is open and for the retention after it ended, then answers the 404 of an unknown id', async () => {
    const subject = freshEmail('abuse-retention');
    expect((await submit({ email: subject })).status).toBe(202);
    const [request] = await listedFor(subject);
    const pending = statusLinkIn((await mailbox(subject)).at(-1)!.text);
    await confirmAndComplete(request!.requestId);
    const link = statusLinkIn((await mailbox(subject)).at(-1)!.text);
    const unknownUrl = `${rt.url}/requests/0190aaaa-0000-7000-8000-000000000000?token=${encodeURIComponent(new URL(link).searchParams.get('token')!)}`;

    const answers: Record<string, number> = {};
    const completedAt = offsetMs;
    setOffset(completedAt + (STATUS_LINK_RETENTION_DAYS - 1) * DAY_MS);
    answers[`day ${STATUS_LINK_RETENTION_DAYS - 1} after completion`] = (await openPage(link)).status;
    answers[`day ${STATUS_LINK_RETENTION_DAYS - 1}, link mailed before confirmation`] = (await openPage(pending)).status;
    setOffset(completedAt + (STATUS_LINK_RETENTION_DAYS + 1) * DAY_MS);
    const late = await openPage(link);
    const unknown = await openPage(unknownUrl);
    answers[`day ${STATUS_LINK_RETENTION_DAYS + 1} after completion`] = late.status;
    answers[`day ${STATUS_LINK_RETENTION_DAYS + 1}, link mailed before confirmation`] = (await openPage(pending)).status;

    printFigures('intake abuse / status link retention', answers);
    expect(Object.values(answers)).toEqual([200, 200, 404, 404]);
    expect([late.header('content-type'), late.text]).toEqual([unknown.header('content-type'), unknown.text]);
  });
});
