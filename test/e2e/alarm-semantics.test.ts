/**
 * The alarms mean trouble, not normal outcomes. Each outcome runs through the bundled workflow,
 * and the metrics it would emit (Step Functions' ExecutionsFailed/TimedOut, each function's Errors,
 * the API's 5xx, the app's own metrics) are matched against the alarms of the synthesized
 * template: a completed or rejected request (by the intake, the re-check or the platform) and
 * hostile input fire none; a platform failure, a timed-out attempt and a Kore.ai outage do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName } from '../../infra/constructs/functions';
import { DEMO_ACCOUNT_OWNER } from '../../infra/local/kore-sim';
import type { LocalMetrics } from '../../infra/local/runtime';
import { raw } from '../reliability/harness';
import { freshEmail, startE2eRuntime, submitAndVerify, submitJson, waitForStatus, type E2eRuntime } from './support';

let runtime: E2eRuntime;
const failingUser = 'alarm-fails@example.com';
const stuckUser = 'alarm-stuck@example.com';

beforeAll(async () => {
  runtime = await startE2eRuntime({ env: { POLL_DEADLINE_SECONDS: '4' }, simulator: { failUsers: [failingUser], neverFinishUsers: [stuckUser] } });
});
afterAll(async () => runtime?.close());

interface AlarmSpec {
  id: string;
  metric: string;
  namespace: string;
  /** The function an Errors alarm watches. */
  fn?: FunctionName;
  threshold: number;
}

/** The alarms of the template the runtime runs. */
function alarms(): AlarmSpec[] {
  return Object.entries(runtime.template.Resources)
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
    .map(([id, r]) => {
      const p = r.Properties as { MetricName: string; Namespace: string; Threshold: number; Dimensions?: Array<{ Name: string; Value: { Ref?: string } }> };
      const fnRef = p.Dimensions?.find((d) => d.Name === 'FunctionName')?.Value.Ref;
      const fn = fnRef ? runtime.lambdas.byLogicalId(fnRef)?.name : undefined;
      return { id, metric: p.MetricName, namespace: p.Namespace, threshold: p.Threshold, ...(fn ? { fn } : {}) };
    });
}

/** What each alarm's metric rose by between two readings. */
function rise(before: LocalMetrics, after: LocalMetrics, alarm: AlarmSpec): number {
  switch (`${alarm.namespace} ${alarm.metric}`) {
    case 'AWS/States ExecutionsFailed':
    case 'AWS/States ExecutionsTimedOut':
      return (after.executions[alarm.metric] ?? 0) - (before.executions[alarm.metric] ?? 0);
    case 'AWS/ApiGateway 5xx':
      return after.api5xx - before.api5xx;
    case 'AWS/Lambda Errors':
      return (after.lambda[alarm.fn!]?.errors ?? 0) - (before.lambda[alarm.fn!]?.errors ?? 0);
    default: {
      // The app's own metrics (OverdueRequests, CanaryFailed): the largest value published since.
      const published = after.custom.slice(before.custom.length).filter((m) => m.namespace === alarm.namespace && m.name === alarm.metric);
      return Math.max(0, ...published.map((m) => m.value));
    }
  }
}

/** The alarms an action would set off: those whose metric rose to their threshold. */
async function firing(action: () => Promise<void>): Promise<string[]> {
  const before = runtime.metrics();
  await action();
  await runtime.idle();
  const after = runtime.metrics();
  return alarms()
    .filter((a) => rise(before, after, a) >= a.threshold)
    .map((a) => `${a.metric}${a.fn ? ` ${a.fn}` : ''}`)
    .sort();
}

describe('alarm semantics', () => {
  it('knows every alarm of the template', () => {
    const kinds = new Set(alarms().map((a) => `${a.namespace} ${a.metric}`));
    expect(kinds).toEqual(new Set(['AWS/States ExecutionsFailed', 'AWS/States ExecutionsTimedOut', 'AWS/ApiGateway 5xx', 'AWS/Lambda Errors', 'ErasureDesk OverdueRequests', 'ErasureDesk ErasureDataFound']));
  });

  it('fires nothing for an erasure read back verified, and ErasureDataFound when its data is found twice', async () => {
    const verifyWhenDue = async () => {
      await new Promise((r) => setTimeout(r, 2_100)); // the local lag before a read-back (2 s)
      await runtime.verify();
    };
    expect(
      await firing(async () => {
        await waitForStatus(runtime, await submitAndVerify(runtime.url, freshEmail('alarm-verified')), ['COMPLETED']);
        await verifyWhenDue();
      }),
    ).toEqual([]);
    runtime.simulator!.setFaults({ sessionsLeftBehind: true });
    try {
      expect(
        await firing(async () => {
          await waitForStatus(runtime, await submitAndVerify(runtime.url, freshEmail('alarm-left-behind')), ['COMPLETED']);
          await verifyWhenDue();
          await verifyWhenDue();
        }),
      ).toEqual(['ErasureDataFound']);
    } finally {
      runtime.simulator!.setFaults({ sessionsLeftBehind: false });
    }
  });

  it('fires nothing for a completed erasure', async () => {
    expect(
      await firing(async () => {
        await waitForStatus(runtime, await submitAndVerify(runtime.url, freshEmail('alarm-ok')), ['COMPLETED']);
      }),
    ).toEqual([]);
  });

  it('fires nothing for a request the intake rejects (an account owner)', async () => {
    expect(
      await firing(async () => {
        await waitForStatus(runtime, await submitAndVerify(runtime.url, DEMO_ACCOUNT_OWNER.email), ['REJECTED']);
      }),
    ).toEqual([]);
  });

  it('fires nothing for a request the platform refuses under its own rules', async () => {
    const email = freshEmail('alarm-refused');
    const account = runtime.simulator!.account as unknown as { refusalOf: (id: string) => string | undefined };
    const original = account.refusalOf.bind(account);
    account.refusalOf = (id) => (id.toLowerCase() === email ? 'co-developer' : original(id));
    try {
      expect(
        await firing(async () => {
          const detail = await waitForStatus(runtime, await submitAndVerify(runtime.url, email), ['REJECTED']);
          expect(detail.request.rejection).toMatchObject({ source: 'platform' });
        }),
      ).toEqual([]);
    } finally {
      account.refusalOf = original;
    }
  });

  it('fires nothing for hostile or malformed input, all answered 4xx', async () => {
    expect(
      await firing(async () => {
        const answers = await Promise.all([
          submitJson(runtime.url, { email: 'not an address' }),
          submitJson(runtime.url, { email: 'x@example.com', botIds: ['<script>'] }),
          raw(`${runtime.url}/requests`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"email":' }),
          raw(`${runtime.url}/audit/requests/%E0%A4`, { headers: { authorization: 'Bearer nope' } }),
          raw(`${runtime.url}/no/such/page`),
        ]);
        for (const a of answers) expect(a.status).toBeGreaterThanOrEqual(400);
        for (const a of answers) expect(a.status).toBeLessThan(500);
      }),
    ).toEqual([]);
  });

  it('fires ExecutionsFailed for an erasure the platform failed, and for an attempt that timed out', async () => {
    expect(
      await firing(async () => {
        await waitForStatus(runtime, await submitAndVerify(runtime.url, failingUser), ['FAILED']);
      }),
    ).toEqual(['ExecutionsFailed']);
    expect(
      await firing(async () => {
        await waitForStatus(runtime, await submitAndVerify(runtime.url, stuckUser), ['TIMED_OUT'], 40_000);
      }),
    ).toEqual(['ExecutionsFailed']);
  });

  it('fires the task functions’ Errors for a Kore.ai outage the workflow rides out', async () => {
    runtime.simulator!.setFaults({ rate429: 0.35, rate500: 0.35, retryAfterSeconds: 0, seed: 7 });
    try {
      const alarmsSet = await firing(async () => {
        await waitForStatus(runtime, await submitAndVerify(runtime.url, freshEmail('alarm-outage')), ['COMPLETED'], 60_000);
      });
      expect(alarmsSet.length).toBeGreaterThan(0);
      expect(alarmsSet.every((a) => /^Errors (submit-erasure|check-erasure-status)$/.test(a))).toBe(true);
    } finally {
      runtime.simulator!.setFaults({ rate429: 0, rate500: 0 });
    }
  });
});
