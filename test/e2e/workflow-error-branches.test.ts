/**
 * Every error name the deployed state machine matches on, thrown by the deployed bundles, takes
 * the branch the definition means: each `ErrorEquals` of the synthesized definition is listed
 * below with the branch it stands for, and a run makes the bundled task meet that error — through
 * the Kore.ai simulator's faults, a DynamoDB fault, a subject who turns privileged, or a fault of
 * the Lambda service itself (for `Lambda.*`, `Sandbox.*` and `States.*`, which only the services
 * raise) — and checks where the execution went. A name in the definition without a row here, or
 * a row the definition lost, fails the first test: a new `ErrorEquals` is a deliberate change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TASK_HANDLERS } from '../../infra/constructs/erasure-workflow';
import type { FunctionName } from '../../infra/constructs/functions';
import type { KoreRoleUser } from '../../functions/domain/kore';
import { DEMO_BOTS } from '../../infra/local/kore-sim';
import { stateMachineDefinitionFrom } from '../../infra/local/state-machine-definition';
import { raw, type RawResponse } from '../reliability/harness';
import { acceptedErasures, auditDetail, startE2eRuntime, waitForStatus, type AuditDetail, type E2eRuntime } from './support';

/** What a matched error leads to. */
type Branch = 'retried' | 'recorded as failed' | 'workflow error';

/** Which function runs each Task state (the construct's own table). */
const TASK_FUNCTION: Readonly<Record<string, FunctionName>> = TASK_HANDLERS;

/** The errors Lambda and Step Functions raise themselves; the tests inject them at the Lambda service. */
const SERVICE_ERRORS = /^(Lambda|Sandbox|States)\./;

/** The branch each (state, error name) of the definition is meant to take. */
function intended(state: string, error: string): Branch | undefined {
  const work = state === 'SubmitErasure' || state === 'CheckStatus';
  if (error === 'States.ALL') return work ? 'recorded as failed' : 'workflow error';
  if (error === 'KoreRetryableError') return work ? 'retried' : undefined;
  if (error === 'StoreUnavailableError' || SERVICE_ERRORS.test(error)) return 'retried';
  return undefined;
}

/** Every (state, error name, retry or catch) the definition holds. */
function matchedErrors(definition: ReturnType<typeof stateMachineDefinitionFrom>): Array<{ state: string; error: string; via: 'Retry' | 'Catch' }> {
  const out: Array<{ state: string; error: string; via: 'Retry' | 'Catch' }> = [];
  for (const [state, body] of Object.entries(definition.States)) {
    for (const via of ['Retry', 'Catch'] as const) {
      for (const rule of (body[via] as Array<{ ErrorEquals: string[] }> | undefined) ?? []) {
        for (const error of rule.ErrorEquals) out.push({ state, error, via });
      }
    }
  }
  return out;
}

let runtime: E2eRuntime;
let definition: ReturnType<typeof stateMachineDefinitionFrom>;
let clientNumber = 0;
/** Addresses whose erasure the platform fails, and whose job never ends (one per run). */
const FAILING = Array.from({ length: 24 }, (_, i) => `branch-fails-${i}@example.com`);
const STUCK = Array.from({ length: 24 }, (_, i) => `branch-stuck-${i}@example.com`);
const failingUser = () => FAILING.shift()!;
const stuckUser = () => STUCK.shift()!;

beforeAll(async () => {
  runtime = await startE2eRuntime({ controllableClock: true, dynamoThroughStandIns: true, env: { POLL_DEADLINE_SECONDS: '8' }, simulator: { failUsers: FAILING, neverFinishUsers: STUCK } });
  definition = stateMachineDefinitionFrom(runtime.template);
});
afterAll(async () => runtime?.close());

/** Each submission from its own loopback address (the intake limits submissions per client). */
function from(): string {
  clientNumber++;
  return `127.0.${Math.floor(clientNumber / 250) + 10}.${(clientNumber % 250) + 1}`;
}

async function post(path: string, body: string, contentType: string): Promise<RawResponse> {
  return raw(`${runtime.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, accept: 'application/json' }, body, from: from() });
}

/** Submits for `email`; resolves with the request id once the verification mail is there. */
async function submit(email: string): Promise<{ requestId: string; confirm: () => Promise<void> }> {
  const answer = await post('/requests', JSON.stringify({ email }), 'application/json');
  expect(answer.status).toBe(202);
  const mails = JSON.parse((await raw(`${runtime.url}/dev/outbox.json?to=${encodeURIComponent(email)}`)).text) as Array<{ requestId?: string; kind: string; text: string }>;
  const mail = mails.find((m) => m.kind === 'verification');
  const link = mail?.text.match(/https?:\/\/\S+\/verify\?token=[\w.-]+/)?.[0];
  if (!mail?.requestId || !link) throw new Error('No verification mail');
  return {
    requestId: mail.requestId,
    confirm: async () => {
      const token = new URL(link).searchParams.get('token')!;
      expect((await post('/verify', `token=${encodeURIComponent(token)}`, 'application/x-www-form-urlencoded')).status).toBe(303);
    },
  };
}

let emailNumber = 0;
const email = (tag: string) => `branch-${tag.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${process.pid}-${++emailNumber}@example.com`;

/** The execution of a request's first attempt, once it has ended. */
async function endedExecution(requestId: string): Promise<{ state: string; error?: string }> {
  await runtime.idle();
  const execution = runtime.workflow.describe(`${requestId}-1`);
  if (!execution) throw new Error(`No execution for ${requestId}`);
  return execution;
}

/**
 * One erasure of a fresh subject: `faults` are injected for this request only (Lambda service
 * level), then the link is confirmed; resolves once the request reached one of `statuses`.
 */
async function erasure(user: string, faults: Array<[FunctionName, string]>, statuses: string[]): Promise<{ requestId: string; detail: AuditDetail }> {
  const { requestId, confirm } = await submit(user);
  for (const [fn, error] of faults) runtime.lambdas.injectFault(fn, { error, requestId });
  await confirm();
  const detail = await waitForStatus(runtime, requestId, statuses, 60_000);
  return { requestId, detail };
}

describe('error branches of the bundled workflow', () => {
  it('has exactly the error names this file knows, each with the branch it is meant to take', () => {
    const matched = matchedErrors(definition);
    const unknown = matched.filter((m) => intended(m.state, m.error) === undefined).map((m) => `${m.state}: ${m.error}`);
    expect(unknown).toEqual([]);
    // Retry rules only ever retry; Catch rules never do.
    for (const m of matched) expect(intended(m.state, m.error) === 'retried').toBe(m.via === 'Retry');
    expect(matched.map((m) => m.error)).toEqual(expect.arrayContaining(['KoreRetryableError', 'StoreUnavailableError', 'States.ALL']));
    // Rejections are outcomes the submit task returns, not errors a rule matches (see the last tests).
    expect(matched.map((m) => m.error)).not.toEqual(expect.arrayContaining(['KoreRefusedError']));
  });

  it('retries each error of the Lambda and Step Functions services in every task, and the erasure completes', async () => {
    const serviceErrors = [...new Set(matchedErrors(definition).filter((m) => SERVICE_ERRORS.test(m.error) && m.error !== 'States.ALL').map((m) => m.error))];
    const work = (error: string) => ['SubmitErasure', 'CheckStatus'].filter((s) => matchedErrors(definition).some((m) => m.state === s && m.error === error && m.via === 'Retry'));
    const record = (error: string) => matchedErrors(definition).some((m) => m.state.startsWith('Record') && m.error === error && m.via === 'Retry');
    const runs = serviceErrors.map(async (error) => {
      // One run through Submit, Check and RecordCompleted; others through each other Record* state.
      const completed = erasure(email(error), [...work(error).map((s) => [TASK_FUNCTION[s]!, error] as [FunctionName, string]), ...(record(error) ? [['record-outcome', error] as [FunctionName, string]] : [])], ['COMPLETED']);
      const failed = record(error) ? erasure(failingUser(), [['record-outcome', error]], ['FAILED']) : undefined;
      const timedOut = record(error) ? erasure(stuckUser(), [['record-outcome', error]], ['TIMED_OUT']) : undefined;
      const errored = record(error) ? erasure(email(`${error}-error`), [['submit-erasure', 'UnexpectedError'], ['record-outcome', error]], ['FAILED']) : undefined;
      const results = await Promise.all([completed, failed, timedOut, errored]);
      return { error, results: results.filter((r) => r !== undefined) };
    });
    for (const { error, results } of await Promise.all(runs)) {
      for (const { requestId, detail } of results) {
        expect(runtime.lambdas.pendingFaults(requestId), `${error}: every injected fault was met`).toEqual({});
        expect(detail.chain.ok).toBe(true);
        const execution = await endedExecution(requestId);
        expect([execution.state, error]).toEqual([detail.request.status === 'COMPLETED' ? 'SUCCEEDED' : 'FAILED', error]);
      }
      expect(results[0]!.detail.request.status).toBe('COMPLETED');
    }
  });

  it('records any other error of a work task as the attempt FAILED (States.ALL → RecordError)', async () => {
    for (const fn of ['submit-erasure', 'check-erasure-status'] as const) {
      const { requestId, detail } = await erasure(email(`all-${fn}`), [[fn, 'UnexpectedError']], ['FAILED']);
      expect(detail.request.failureReason).toBe('UnexpectedError');
      expect((await endedExecution(requestId)).error).toBe('WorkflowError');
    }
  });

  it('ends in WorkflowError, the request left for the sweeper, when recording keeps failing (States.ALL of Record*)', async () => {
    const user = email('record-all');
    const { requestId, confirm } = await submit(user);
    // An error no retrier names: caught by States.ALL straight into WorkflowError.
    runtime.lambdas.injectFault('record-outcome', { error: 'UnexpectedError', requestId });
    await confirm();
    const execution = await (async () => {
      for (let i = 0; i < 300; i++) {
        const e = runtime.workflow.describe(`${requestId}-1`);
        if (e && e.state !== 'RUNNING') return e;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('The execution did not end');
    })();
    expect(execution).toMatchObject({ state: 'FAILED', error: 'WorkflowError' });
    // Not recorded: the request stays where the chain has it (submitted or in progress), not final.
    expect(['SUBMITTED', 'IN_PROGRESS']).toContain((await auditDetail(runtime, requestId)).request.status);
    // The sweeper redrives it once recording works again.
    expect(runtime.lambdas.pendingFaults(requestId)).toEqual({});
    await runtime.sweep(0);
    await waitForStatus(runtime, requestId, ['COMPLETED']);
  });

  it('retries KoreRetryableError from the platform at submission and status checks, with one DELETE', async () => {
    const user = email('kore-retryable');
    runtime.simulator!.setFaults({ rate429: 0.4, rate500: 0.3, retryAfterSeconds: 0, seed: 11 });
    try {
      const { detail } = await erasure(user, [], ['COMPLETED']);
      const faults = runtime.simulator!.calls().filter((c) => c.outcome === 'fault-429' || c.outcome === 'fault-500');
      expect(new Set(faults.map((c) => c.route))).toEqual(new Set(['/api/public/bot/eraseUsersData', '/api/public/bot/eraseUsersData/status/:reqId']));
      expect(acceptedErasures(runtime, user)).toBe(1);
      expect(detail.chain.ok).toBe(true);
    } finally {
      runtime.simulator!.setFaults({ rate429: 0, rate500: 0 });
    }
  });

  it('rejects a platform refusal and a subject the re-check finds privileged as outcomes: the execution succeeds', async () => {
    // Refused by Kore.ai itself: privileged after the snapshot was taken.
    const refused = email('refused');
    const account = runtime.simulator!.account as unknown as { refusalOf: (id: string) => string | undefined; users: KoreRoleUser[] };
    const original = account.refusalOf.bind(account);
    account.refusalOf = (id) => (id.toLowerCase() === refused ? 'bot-owner' : original(id));
    try {
      const { requestId, detail } = await erasure(refused, [], ['REJECTED']);
      expect(detail.request.rejection).toMatchObject({ rule: 'PLATFORM_RULES', source: 'platform' });
      expect(await endedExecution(requestId)).toMatchObject({ state: 'SUCCEEDED' });
    } finally {
      account.refusalOf = original;
    }

    // Privileged in a snapshot refreshed between the intake's check and the workflow's re-check.
    const owner = email('late-snapshot');
    const { requestId, confirm } = await submit(owner);
    let release!: () => void;
    runtime.lambdas.injectFault('submit-erasure', { requestId, hold: new Promise<void>((r) => (release = r)) });
    await confirm();
    account.users.push({
      userId: `u-${requestId}`,
      username: owner,
      orgUserId: `o-${requestId}`,
      accountId: 'branch-account',
      isDeveloper: true,
      canCreateBot: true,
      btRoles: [{ roleId: 'r-owner', roleName: 'Bot Owner', botId: DEMO_BOTS.support.botId, botName: 'Support', groups: [] }],
      adminRoles: [],
    } as unknown as KoreRoleUser);
    // An on-demand refresh (as the ops action sends it: not a scheduled event) publishes at once.
    await runtime.invoke('refresh-roles-snapshot', {});
    // Past the 30 s a container trusts its cached snapshot pointer (nothing else is in flight).
    runtime.advanceClock(60_000);
    release();
    const detail = await waitForStatus(runtime, requestId, ['REJECTED']);
    expect(detail.request.rejection).toMatchObject({ source: 'snapshot', botIds: [DEMO_BOTS.support.botId] });
    expect(acceptedErasures(runtime, owner)).toBe(0);
    expect(await endedExecution(requestId)).toMatchObject({ state: 'SUCCEEDED' });
  });

  it('retries StoreUnavailableError (DynamoDB failing past the SDK retries) in every task', async () => {
    // The SDK retries a failing call itself (a few tries, short backoff for server errors); eight
    // failing appends in a row reach the task as StoreUnavailableError at least once.
    const dynamoFault = (fn: FunctionName) => runtime.aws.injectFault(fn, 'dynamodb', 'InternalServerError', 8, 'PutItem');
    const cases: Array<{ user: string; status: string; faulted: FunctionName[] }> = [
      { user: email('store'), status: 'COMPLETED', faulted: ['submit-erasure', 'check-erasure-status', 'record-outcome'] },
      { user: failingUser(), status: 'FAILED', faulted: ['record-outcome'] },
      { user: stuckUser(), status: 'TIMED_OUT', faulted: ['record-outcome'] },
    ];
    for (const { user, status, faulted } of cases) {
      const { requestId, confirm } = await submit(user);
      // Each fault lands on the first DynamoDB call of that function after the confirmation.
      for (const fn of faulted) {
        if (fn === 'submit-erasure') dynamoFault(fn);
      }
      await confirm();
      if (faulted.includes('check-erasure-status') || faulted.includes('record-outcome')) {
        // Once submitted, the next calls of check and record belong to this request alone.
        for (let i = 0; i < 300 && !(await auditDetail(runtime, requestId)).timeline.some((e) => e.type === 'ERASURE_SUBMITTED'); i++) await new Promise((r) => setTimeout(r, 50));
        for (const fn of faulted.filter((f) => f !== 'submit-erasure')) dynamoFault(fn);
      }
      const detail = await waitForStatus(runtime, requestId, [status], 60_000);
      expect(detail.chain.ok).toBe(true);
      expect(detail.request.status).toBe(status);
      const metrics = runtime.metrics().lambda;
      for (const fn of faulted) expect(metrics[fn]?.errorsByType.StoreUnavailableError ?? 0, `${fn} met the fault`).toBeGreaterThan(0);
    }
  });
});
