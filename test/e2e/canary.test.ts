/**
 * The canary erasure through the real workflow: one canary per configured bot, judged at the
 * next run; a canary the platform fails is reported failed; canaries stay out of reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_BOTS } from '../../infra/local/kore-sim';
import { json, startE2eRuntime, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;
const canaryUser = 'canary-test-user@example.com';
const botIds = [DEMO_BOTS.support.botId, DEMO_BOTS.billing.botId];

beforeAll(async () => {
  runtime = await startE2eRuntime({ canary: { userId: canaryUser, botIds } });
});
afterAll(async () => runtime?.close());

describe('the canary erasure', () => {
  it('runs one canary per bot, judges them at the next run and reports a failure', async () => {
    const first = await runtime.runCanary();
    expect(first.canaries.map((c) => [c.botId, c.previous])).toEqual([...botIds].sort().map((b) => [b, 'none']));
    const started = first.canaries.map((c) => c.startedRequestId!);
    for (const id of started) {
      const detail = await waitForStatus(runtime, id, ['COMPLETED']);
      expect(detail.chain.ok).toBe(true);
    }

    const second = await runtime.runCanary();
    expect(second).toMatchObject({ failed: 0 });
    expect(second.canaries.every((c) => c.previous === 'ok' && c.startedRequestId)).toBe(true);
    for (const c of second.canaries) await waitForStatus(runtime, c.startedRequestId!, ['COMPLETED']);

    // Where the platform fails the canary's erasure, the next run reports it, and starts a new one.
    // The platform starts failing the canary user's erasures (an API change, a broken tenant).
    runtime.simulator!.setFailUsers([canaryUser]);
    const broken = await runtime.runCanary();
    for (const c of broken.canaries) await waitForStatus(runtime, c.startedRequestId!, ['FAILED']);
    const judged = await runtime.runCanary();
    expect(judged.failed).toBe(2);
    expect(judged.canaries.every((c) => c.previous === 'failed' && c.startedRequestId)).toBe(true);
    // The failed ones are closed as superseded rather than left for ops.
    for (const c of broken.canaries) {
      const detail = await waitForStatus(runtime, c.startedRequestId!, ['CANCELLED']);
      expect(detail.timeline.find((e) => e.type === 'REQUEST_CANCELLED')?.details).toMatchObject({ reason: 'CANARY_SUPERSEDED' });
    }

    // Canaries are kept out of the auditors' report and default listing.
    const report = await json<{ total?: number; byStatus?: Record<string, number> }>(
      await fetch(`${runtime.url}/audit/report`, { headers: { authorization: `Bearer ${runtime.auditorToken}` } }),
    );
    expect(JSON.stringify(report)).not.toMatch(/"COMPLETED":\s*[1-9]/);
    const list = await json<{ items: { requestId: string }[] }>(await fetch(`${runtime.url}/audit/requests`, { headers: { authorization: `Bearer ${runtime.auditorToken}` } }));
    expect(list.items.filter((r) => r.requestId.startsWith('er-canary-'))).toEqual([]);
  });
});
