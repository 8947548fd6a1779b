/**
 * Part 3, concurrency: fifty simultaneous submissions for one subject make one request and one
 * email; simultaneous ops retries of one failed request (single and bulk mixed) start exactly
 * one new attempt with one DELETE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedByUser, auditDetail, clientAddress, confirmLink, freshEmail, mailedRequest, pool, printFigures, raw, readOutbox, startReliabilityRuntime, tally, verificationLinks, type ReliabilityRuntime } from './harness';

const failing = freshEmail('conc-fails');
let rt: ReliabilityRuntime;
beforeAll(async () => {
  rt = await startReliabilityRuntime({ simulator: { jobDurationMs: 200, failUsers: [failing] } });
});
afterAll(async () => rt?.close());

async function waitFor(id: string, statuses: string[]): Promise<void> {
  await rt.idle();
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (statuses.includes((await auditDetail(rt.url, rt.auditorToken, id)).request.status)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`request ${id} never reached ${statuses.join('|')}`);
}

describe('concurrency', () => {
  it('fifty simultaneous submissions for one subject make one request and one email', async () => {
    const email = freshEmail('conc');
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(5000 + i), headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ email }) }),
      ),
    );
    // The answers name no request: the requests are counted where they are, in the mails and the trail.
    const acceptedAnswers = new Set(answers.filter((a) => a.status === 202).map((a) => a.text));
    const listed = JSON.parse((await raw(`${rt.url}/audit/requests?subject=${encodeURIComponent(email)}`, { headers: { authorization: `Bearer ${rt.auditorToken}` } })).text) as { items: { requestId: string }[] };
    const mails = (await readOutbox(rt.url)).filter((m) => m.to === email);
    const ids = new Set(mails.map((m) => m.requestId));

    const [requestId] = [...ids];
    const link = verificationLinks(mails).get(requestId!)!;
    expect((await confirmLink(link)).status).toBe(303);
    await waitFor(requestId!, ['COMPLETED']);
    const after = (await readOutbox(rt.url)).filter((m) => m.to === email);
    const deletes = acceptedByUser(rt.simulator!.calls()).get(email)?.length ?? 0;

    printFigures('concurrency / one subject', {
      submissions: 50,
      answers: tally(answers.map((a) => String(a.status))),
      distinctAnswers: acceptedAnswers.size,
      distinctRequestIds: ids.size,
      requestsStored: listed.items.length,
      verificationEmails: mails.length,
      emailsAfterCompletion: tally(after.map((m) => m.kind)),
      acceptedDeletes: deletes,
    });
    // Nothing counts per address (a stranger must not be able to lock an address out): fifty
    // clients all get the same 202, and the claim still makes one request and one mail of them.
    expect(tally(answers.map((a) => String(a.status)))).toEqual({ '202': 50 });
    expect(acceptedAnswers.size).toBe(1);
    expect(ids.size).toBe(1);
    expect(listed.items.map((r) => r.requestId)).toEqual([requestId]);
    expect(mails).toHaveLength(1);
    expect(tally(after.map((m) => m.kind))).toEqual({ completion: 1, confirmation: 1, verification: 1 });
    expect(deletes).toBe(1);
  });

  it('simultaneous ops retries of one failed request start one attempt and one DELETE', async () => {
    const submitted = await raw(`${rt.url}/requests`, { method: 'POST', from: clientAddress(6000), headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ email: failing }) });
    expect(submitted.status).toBe(202);
    const { requestId, verifyUrl: link } = await mailedRequest(rt.url, failing);
    expect((await confirmLink(link!)).status).toBe(303);
    await waitFor(requestId, ['FAILED']);

    const headers = { authorization: `Bearer ${rt.opsToken}`, 'content-type': 'application/json' };
    const answers = await pool(Array.from({ length: 30 }, (_, i) => i), 30, (i) =>
      i % 2 === 0
        ? raw(`${rt.url}/ops/requests/${requestId}/retry`, { method: 'POST', headers, body: JSON.stringify({ reason: `parallel retry ${i}` }) }).then((r) => (r.status === 200 ? 'retried' : String(r.status)))
        : raw(`${rt.url}/ops/retry`, { method: 'POST', headers, body: JSON.stringify({ ids: [requestId], reason: `parallel bulk retry ${i}` }) }).then(
            (r) => (JSON.parse(r.text) as { outcomes: { outcome: string }[] }).outcomes[0]!.outcome,
          ),
    );
    await waitFor(requestId, ['FAILED', 'COMPLETED']);
    const detail = await auditDetail(rt.url, rt.auditorToken, requestId);
    const retries = detail.timeline.filter((e) => e.type === 'RETRY_REQUESTED');
    const executions = rt.workflow.list().filter((e) => e.name.startsWith(`${requestId}-`));
    const deletes = acceptedByUser(rt.simulator!.calls()).get(failing)?.length ?? 0;

    printFigures('concurrency / one retry', { retries: 30, answers: tally(answers), retryEvents: retries.length, attempt: detail.request.attempt, executions: executions.length, acceptedDeletes: deletes, chainOk: detail.chain.ok });
    // One wins; every other retry is refused as a conflict (409 single, 'conflict' in a bulk outcome).
    expect(answers.filter((a) => a === 'retried')).toHaveLength(1);
    expect(answers.filter((a) => a !== 'retried').every((a) => a === '409' || a === 'conflict')).toBe(true);
    expect(retries).toHaveLength(1);
    expect(detail.request.attempt).toBe(2);
    expect(executions.map((e) => e.name).sort()).toEqual([`${requestId}-1`, `${requestId}-2`]);
    expect(deletes).toBe(2);
    expect(detail.chain.ok).toBe(true);
  });
});
