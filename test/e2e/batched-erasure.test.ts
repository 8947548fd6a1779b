/**
 * Batched erasures end to end: the bundled tasks, the synthesized state machine's WaitForBudget
 * loop (`gathering`) and the simulator enforcing the account's limits. Requests of one scope
 * verified together go to Kore.ai in one DELETE; one status check a round serves the job; each
 * request keeps its own intent, answer, receipt and chain; a user the platform refuses fails only
 * its own request. The claimer sends within its own run, so nobody waits on a stale claim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KoreRoleUser } from '../../functions/domain/kore';
import { acceptedErasures, freshEmail, inbox, startE2eRuntime, submitAndVerify, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;
/**
 * Batches of 4 and a 5-s window: the bursts below are 4 requests, so each fills its batch; the
 * window only has to hold them together while a busy machine starts their four held tasks
 * moments apart. A lone request waits 5 s.
 */
const BATCH = 4;
beforeAll(async () => {
  runtime = await startE2eRuntime({ env: { ERASURE_BATCH_SIZE: String(BATCH), ERASURE_BATCH_GATHER_SECONDS: '5' } });
});
afterAll(async () => runtime?.close());

/** Verifies `n` requests whose first SubmitErasure runs only once all are verified, as a burst arrives. */
async function verifiedTogether(n: number, tag: string): Promise<{ emails: string[]; ids: string[] }> {
  const emails = Array.from({ length: n }, () => freshEmail(tag));
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  runtime.lambdas.injectFault('submit-erasure', { hold }, n);
  const ids = await Promise.all(emails.map((email) => submitAndVerify(runtime.url, email)));
  release();
  return { emails, ids };
}

const finished = (ids: string[]) => Promise.all(ids.map((id) => waitForStatus(runtime, id, ['COMPLETED', 'FAILED', 'TIMED_OUT', 'REJECTED'], 30_000)));

/** The receipt on the request's status page, reached through the link mailed with the completion notice. */
async function receiptOf(email: string, requestId: string): Promise<Record<string, unknown>> {
  const mails = await inbox(runtime.url, email);
  const link = mails.map((m) => m.text.match(new RegExp(`https?://\\S+/requests/${requestId}\\?token=[\\w.-]+`))?.[0]).find(Boolean);
  if (!link) throw new Error('No status link was mailed');
  const page = await fetch(link, { headers: { accept: 'application/json' } });
  const { receipt } = (await page.json()) as { receipt?: string };
  return JSON.parse(Buffer.from(String(receipt).split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('batched erasures', () => {
  it('sends requests of one scope in one DELETE, shares one status check a round, and gives each request its own trail and receipt', async () => {
    const { emails, ids } = await verifiedTogether(BATCH, 'batch');
    const details = await finished(ids);
    await runtime.workflow.idle();

    expect(details.map((d) => d.request.status)).toEqual(ids.map(() => 'COMPLETED'));
    const jobs = new Set(details.map((d) => d.request.koreRequestId));
    expect(jobs.size).toBe(1);
    const [job] = [...jobs];
    const deletes = runtime.simulator!.calls().filter((c) => c.outcome === 'accepted' && c.jobId === job);
    expect(deletes).toHaveLength(1);
    expect([...deletes[0]!.userIds!].sort()).toEqual([...emails].sort());
    for (const email of emails) expect(acceptedErasures(runtime, email)).toBe(1);

    for (const [i, d] of details.entries()) {
      // Its own intent and answer, naming the batch; its own chain; its own receipt for the shared job.
      const submitting = d.timeline.filter((e) => e.type === 'ERASURE_SUBMITTING');
      expect(submitting).toHaveLength(1);
      expect(submitting[0]!.details.batchId).toEqual(expect.any(String));
      expect(d.timeline.find((e) => e.type === 'ERASURE_SUBMITTED')?.details).toMatchObject({ koreRequestId: job, batch: { size: BATCH } });
      expect(d.chain.ok).toBe(true);
      expect(await receiptOf(emails[i]!, d.request.requestId)).toMatchObject({ requestId: d.request.requestId, koreRequestId: job, outcome: 'COMPLETED' });
    }

    // One status call a round for the whole job: each call is recorded by the member that made it,
    // and members read answers others took (how many depends on how their rounds fall on a busy
    // machine; that some do is the point).
    const statusCalls = runtime.simulator!.calls().filter((c) => c.route === '/api/public/bot/eraseUsersData/status/:reqId' && c.jobId === job);
    const checks = details.flatMap((d) => d.timeline.filter((e) => e.type === 'STATUS_CHECKED'));
    const byThis = checks.filter((e) => (e.details.sharedCheck as { checkedBy?: string } | undefined)?.checkedBy === 'this');
    expect(byThis).toHaveLength(statusCalls.length);
    expect(statusCalls.length).toBeGreaterThan(0);
    expect(checks.length - byThis.length).toBeGreaterThan(0);
    expect(statusCalls.length).toBeLessThan(checks.length);
    expect(runtime.simulator!.calls().filter((c) => c.outcome === 'rate-limited')).toEqual([]);
  }, 40_000);

  it('fails only the refused request when the platform refuses one user of a batch: the others are sent alone and complete', async () => {
    const emails = Array.from({ length: BATCH }, () => freshEmail('refusal'));
    const refused = emails[1]!;
    const account = runtime.simulator!.account as unknown as { refusalOf: (id: string) => string | undefined; users: KoreRoleUser[] };
    const original = account.refusalOf.bind(account);
    account.refusalOf = (id) => (id.toLowerCase() === refused ? 'co-developer' : original(id));
    try {
      let release!: () => void;
      const hold = new Promise<void>((resolve) => (release = resolve));
      runtime.lambdas.injectFault('submit-erasure', { hold }, emails.length);
      const ids = await Promise.all(emails.map((email) => submitAndVerify(runtime.url, email)));
      release();
      const details = await finished(ids);

      expect(details.map((d) => d.request.status)).toEqual(emails.map((e) => (e === refused ? 'REJECTED' : 'COMPLETED')));
      expect(details[1]!.request.rejection).toMatchObject({ rule: 'PLATFORM_RULES', source: 'platform' });
      const refusedBatch = runtime.simulator!.calls().filter((c) => c.outcome === 'refused' && (c.userIds?.length ?? 0) > 1);
      expect(refusedBatch).toHaveLength(1);
      expect([...refusedBatch[0]!.userIds!].sort()).toEqual([...emails].sort());
      for (const [i, d] of details.entries()) {
        // The batch's refusal, then the request's own DELETE alone.
        const types = d.timeline.filter((e) => e.type.startsWith('ERASURE_SUBMITTING') || e.type === 'ERASURE_CALL_FAILED' || e.type === 'ERASURE_SUBMITTED').map((e) => e.type);
        expect(types.slice(0, 3)).toEqual(['ERASURE_SUBMITTING', 'ERASURE_CALL_FAILED', 'ERASURE_SUBMITTING']);
        expect(d.timeline.find((e) => e.type === 'ERASURE_CALL_FAILED')?.details).toMatchObject({ refused: true, batchRefused: true });
        if (emails[i] !== refused) expect(acceptedErasures(runtime, emails[i]!)).toBe(1);
        expect(d.chain.ok).toBe(true);
      }
    } finally {
      account.refusalOf = original;
    }
  }, 40_000);

  it('sends a lone request after one gathering window, in a DELETE of its own', async () => {
    const email = freshEmail('lone');
    const id = await submitAndVerify(runtime.url, email);
    const [detail] = await finished([id]);

    expect(detail!.request.status).toBe('COMPLETED');
    expect(detail!.timeline.find((e) => e.type === 'ERASURE_SUBMITTED')?.details).toMatchObject({ batch: { size: 1 } });
    expect(runtime.simulator!.calls().filter((c) => c.outcome === 'accepted' && c.userIds?.includes(email)).map((c) => c.userIds)).toEqual([[email]]);
  }, 40_000);
});
