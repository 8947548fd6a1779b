/**
 * The shared Kore.ai call budget end to end: the synthesized state machine's WaitForBudget loop
 * run by the bundled tasks against the simulator enforcing the account's limits (windows
 * compressed a hundredfold, as in every suite). A burst larger than the budget waits its turn
 * and completes without a single refusal; refusals caused by "other apps" (a simulator stricter
 * than the budget) are absorbed by waiting, never by failing a request, and never cost an
 * attempt its one DELETE.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { acceptedErasures, auditDetail, freshEmail, startE2eRuntime, submitAndVerify, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime | undefined;

/**
 * Batching off: these bursts make a call per request, so they really meet the limits (batched,
 * eight requests cost one DELETE and a status check a round; test/e2e/batched-erasure.test.ts).
 */
const ONE_USER_A_DELETE = { ERASURE_BATCH_SIZE: '1' };
afterAll(async () => runtime?.close());

async function burst(rt: E2eRuntime, n: number): Promise<{ emails: string[]; ids: string[] }> {
  const emails = Array.from({ length: n }, () => freshEmail('budget'));
  // The first SubmitErasure of each request waits until every request is verified: they ask for
  // their turns at the same moment, as a burst does, however long the intake took.
  let release!: () => void;
  const hold = new Promise<void>((resolve) => (release = resolve));
  rt.lambdas.injectFault('submit-erasure', { hold }, n);
  const ids = await Promise.all(emails.map((email) => submitAndVerify(rt.url, email)));
  release();
  await Promise.all(ids.map((id) => waitForStatus(rt, id, ['COMPLETED', 'FAILED', 'TIMED_OUT'], 90_000)));
  await rt.workflow.idle();
  return { emails, ids };
}

describe('the Kore.ai call budget', () => {
  it('lets a burst larger than the budget wait in WaitForBudget and complete, with no rate-limit refusal and one DELETE each', async () => {
    // 4 a "minute" (3 s) less the margin: 3 turns, of which status checks may take 2. The window is
    // long next to the burst's own work on a busy machine, so the burst really meets a spent budget.
    runtime = await startE2eRuntime({ env: { KORE_BUDGET_PER_MINUTE: '4', KORE_BUDGET_TIME_SCALE: '0.05', ...ONE_USER_A_DELETE } });
    const { emails, ids } = await burst(runtime, 8);

    const details = await Promise.all(ids.map((id) => auditDetail(runtime!, id)));
    expect(details.map((d) => d.request.status)).toEqual(ids.map(() => 'COMPLETED'));
    for (const email of emails) expect(acceptedErasures(runtime, email)).toBe(1);
    // Nothing was refused: the desk kept under the limits it was given.
    expect(runtime.simulator!.calls().filter((c) => c.outcome === 'rate-limited')).toEqual([]);
    // More submissions ran than requests: the surplus asked for a turn, waited, and asked again.
    expect(runtime.metrics().lambda['submit-erasure']!.invocations).toBeGreaterThan(ids.length);
    expect(runtime.metrics().executions).toEqual({ ExecutionsSucceeded: ids.length });
    await runtime.close();
    runtime = undefined;
  }, 150_000);

  it('absorbs refusals caused by other apps on the account by waiting: every request completes, none fails, one DELETE each', async () => {
    // The account has less room than the budget believes (others use it): 2 calls a "minute".
    runtime = await startE2eRuntime({ env: ONE_USER_A_DELETE, simulator: { rateLimits: { perMinute: 2 } } });
    const { emails, ids } = await burst(runtime, 6);

    const details = await Promise.all(ids.map((id) => auditDetail(runtime!, id)));
    expect(details.map((d) => d.request.status)).toEqual(ids.map(() => 'COMPLETED'));
    for (const email of emails) expect(acceptedErasures(runtime, email)).toBe(1);
    const refused = runtime.simulator!.calls().filter((c) => c.outcome === 'rate-limited');
    expect(refused.length).toBeGreaterThan(0);
    // A refused DELETE is recorded as such and the attempt goes on; it never ends the request.
    const recorded = details.flatMap((d) => d.timeline.filter((e) => e.type === 'ERASURE_CALL_FAILED'));
    for (const e of recorded) expect(e.details).toMatchObject({ rateLimited: true, retryable: true });
    for (const d of details) expect(d.chain.ok).toBe(true);
    expect(runtime.metrics().executions).toEqual({ ExecutionsSucceeded: ids.length });
  }, 150_000);
});
