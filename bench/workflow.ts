/**
 * 4. Workflow efficiency: state transitions, Lambda invocations, Kore.ai calls and DynamoDB
 *    operations per completed erasure, for jobs of 10 s, 5 min, 1 h and 24 h, against a naive
 *    loop that polls every 10 s; and what a million requests cost at published AWS prices.
 *
 * Honest simulation, no formula: the state machine definition is the one `cdk synth` produces,
 * run by aws-local-stepfunctions; its Task states call the real use cases (submitErasure,
 * checkErasureStatus, recordOutcome) over dynalite; only time is simulated. The clock is a fake
 * that each CheckStatus moves forward by the `poll.waitSeconds` the previous task returned (the
 * Wait state itself is overridden to 0 ms), and the Kore.ai platform is a fake whose job finishes
 * `duration` after the DELETE. The naive loop is the same definition and code with the poll policy
 * fixed at 10 s. Transitions are the `StateEntered` events of the execution (what Step Functions
 * Standard bills). Long naive runs are extrapolated per poll from the 1 h (quick: 5 min) naive run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';
import { composeApplication } from '../functions/composition/application';
import { readWorkflowSettings } from '../functions/adapters/env/settings';
import { createDynamoAdapters } from '../functions/adapters/dynamo/adapters';
import type { KorePlatform } from '../functions/domain/kore';
import type { PollPolicy } from '../functions/domain/polling';
import { silentLogger, type Clock } from '../functions/domain/ports';
import { deriveKeys } from '../functions/domain/subject';
import { type IntakeDeps } from '../functions/intake/intake-deps';
import { submitOnBehalf } from '../functions/intake/submit-on-behalf';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE } from '../functions/domain/checkpoints';
import { createLocalSigner } from '../functions/intake/receipts';
import { FUNCTION_SPECS } from '../infra/constructs/functions';
import { ensureAuditTable, startLocalDynamo } from '../infra/local/local-dynamo';
import { loadOrCreateLocalSecrets } from '../infra/local/local-secrets';
import { stateMachineDefinitionFrom } from '../infra/local/state-machine-definition';
import { synthesizeTemplate } from '../infra/synth';
import { row, type BenchContext, type Row } from './lib';

/**
 * Published on-demand list prices, region us-east-1 (N. Virginia), as of 2025. Other regions
 * differ by a few percent.
 */
export const PRICES_USD = {
  /** Step Functions Standard: $0.025 per 1,000 state transitions. */
  sfnTransition: 0.025 / 1000,
  /** Lambda on Arm (Graviton): $0.0000133334 per GB-second. */
  lambdaGbSecond: 0.0000133334,
  /** Lambda: $0.20 per million requests. */
  lambdaRequest: 0.2 / 1e6,
  /** DynamoDB on-demand: $0.625 per million write request units. */
  dynamoWrite: 0.625 / 1e6,
  /** DynamoDB on-demand: $0.125 per million read request units. */
  dynamoRead: 0.125 / 1e6,
  /** API Gateway HTTP API: $1.00 per million requests (first 300 million). */
  httpApiRequest: 1 / 1e6,
} as const;

/**
 * Billed duration assumed per invocation (local wall times say nothing about Lambda's): API
 * handlers 150 ms, workflow tasks 100 ms. Memory sizes are the stack's (FUNCTION_SPECS).
 */
export const ASSUMED_DURATION_MS = { api: 150, task: 100 } as const;

const WRITE_COMMANDS = new Set(['PutCommand', 'UpdateCommand', 'DeleteCommand', 'PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand']);
const READ_COMMANDS = new Set(['GetCommand', 'QueryCommand', 'GetItemCommand', 'QueryItemCommand', 'BatchGetCommand']);

interface Run {
  transitions: number;
  lambda: Record<string, number>;
  koreCalls: number;
  dynamoWrites: number;
  dynamoReads: number;
  lateSeconds: number;
  polls: number;
}

interface Harness {
  run(durationSeconds: number, policy: PollPolicy): Promise<Run>;
  close(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'erasure-desk-bench-wf-'));
  const secrets = await loadOrCreateLocalSecrets(join(dir, 'secrets.json'));
  const dynamo = await startLocalDynamo();
  await ensureAuditTable(dynamo.client, 'bench');
  const ops = { writes: 0, reads: 0, batchWriteItems: 0 };
  dynamo.client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = (context as { commandName?: string }).commandName ?? '';
      if (WRITE_COMMANDS.has(name)) ops.writes++;
      else if (READ_COMMANDS.has(name)) ops.reads++;
      else if (name.startsWith('BatchWrite')) {
        const items = Object.values((args.input as { RequestItems?: Record<string, unknown[]> }).RequestItems ?? {}).flat().length;
        ops.writes += items;
      }
      return next(args);
    },
    { step: 'initialize', name: 'benchCounter' },
  );
  let nowMs = Date.parse('2026-01-05T09:00:00.000Z');
  const clock: Clock = { now: () => new Date(nowMs) };
  const jobs = new Map<string, number>();
  let jobDurationMs = 0;
  let koreCalls = 0;
  let finishedAt = 0;
  let seenAt = 0;
  const kore: KorePlatform = {
    eraseUsersData: async () => {
      koreCalls++;
      const id = `eud-${jobs.size + 1}`;
      jobs.set(id, nowMs + jobDurationMs);
      finishedAt = nowMs + jobDurationMs;
      return { koreRequestId: id, status: 'in-progress' };
    },
    getEraseStatus: async (id) => {
      koreCalls++;
      const done = nowMs >= (jobs.get(id) ?? Infinity);
      if (done && seenAt === 0) seenAt = nowMs;
      const body = { _id: id, response: [{ userId: 'subject', status: done ? 'SUCCESS' : 'in-progress' }] };
      return { koreRequestId: id, users: body.response, rawBody: JSON.stringify(body) };
    },
    getUserRoles: async () => ({ total: 0, availableMore: false, users: [] }),
  };
  let started: { requestId: string; attempt: number } | undefined;
  const workflow = {
    startErasure: async (requestId: string, attempt: number) => {
      started = { requestId, attempt };
      return { started: true, executionId: `${requestId}-${attempt}` };
    },
    isRunning: async () => false,
    executionState: async () => 'NONE' as const,
    redrive: async () => undefined,
  };
  const subjectKeys = deriveKeys(secrets.subjectSecret);
  const linkKey = new TextEncoder().encode(secrets.linkKey);
  const adapters = createDynamoAdapters({ client: dynamo.client, tableName: 'bench', clock });
  const mailer = { send: async () => ({ messageId: 'bench' }) };
  const signer = createLocalSigner(secrets.receiptSigningKey, RECEIPT_JWS_TYPE);
  const checkpointSigner = createLocalSigner(secrets.checkpointSigningKey, CHECKPOINT_JWS_TYPE);
  const definition = stateMachineDefinitionFrom(synthesizeTemplate());
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  let subjects = 0;

  return {
    async run(durationSeconds, policy) {
      jobDurationMs = durationSeconds * 1000;
      seenAt = 0;
      const settings = { ...readWorkflowSettings({}), poll: policy };
      const app = composeApplication({
        ...adapters,
        kore,
        mailer,
        receiptSigner: signer,
        checkpointSigner,
        workflow: workflow as never,
        staffAuth: {} as never,
        clock,
        subjectKeys,
        linkKey,
        publicBaseUrl: 'https://erase.example.com',
        settings,
        logger: silentLogger,
      });
      const intake: IntakeDeps = { ...adapters, mailer, signer, workflow: workflow as never, clock, subjectKeys, linkKey, publicBaseUrl: 'https://erase.example.com', logger: silentLogger };
      started = undefined;
      await submitOnBehalf(intake, { subjectId: `bench-${++subjects}@example.com`, reason: 'benchmark of the workflow', identityCheckedBy: 'benchmark' }, 'staff:bench');
      if (!started) throw new Error('the submission did not start the workflow');
      const input = started as { requestId: string; attempt: number };

      const lambda: Record<string, number> = {};
      let pendingWait = 0;
      const task = (state: string, call: (i: unknown) => Promise<unknown>) => async (i: unknown) => {
        lambda[state] = (lambda[state] ?? 0) + 1;
        if (state === 'CheckStatus') nowMs += pendingWait * 1000; // the Wait state just ran
        const out = (await call(i)) as { poll?: { waitSeconds?: number } };
        pendingWait = out?.poll?.waitSeconds ?? 0;
        return out;
      };
      const handlers = {
        SubmitErasure: task('SubmitErasure', app.tasks.submitErasure),
        CheckStatus: task('CheckStatus', app.tasks.checkErasureStatus),
        RecordCompleted: task('RecordCompleted', app.tasks.recordOutcome),
        RecordFailed: task('RecordFailed', app.tasks.recordOutcome),
        RecordTimedOut: task('RecordTimedOut', app.tasks.recordOutcome),
        RecordRejected: task('RecordRejected', app.tasks.recordOutcome),
        RecordError: task('RecordError', app.tasks.recordOutcome),
      };
      Object.assign(ops, { writes: 0, reads: 0 });
      const koreBefore = koreCalls;
      const execution = machine.run(input, {
        overrides: { taskResourceLocalHandlers: handlers as never, waitTimeOverrides: { WaitBeforeCheck: 0 } },
        context: { Execution: { Name: `${input.requestId}-${input.attempt}`, Input: input, StartTime: clock.now().toISOString() } } as never,
      });
      let transitions = 0;
      const counting = (async () => {
        for await (const event of execution.eventLogs) if (event.type === 'StateEntered') transitions++;
      })();
      await execution.result;
      await counting;
      if (!lambda.RecordCompleted) throw new Error(`the execution did not complete: ${JSON.stringify(lambda)}`);
      return {
        transitions,
        lambda,
        koreCalls: koreCalls - koreBefore,
        dynamoWrites: ops.writes,
        dynamoReads: ops.reads,
        lateSeconds: (seenAt - finishedAt) / 1000,
        polls: lambda.CheckStatus ?? 0,
      };
    },
    async close() {
      await dynamo.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The naive run of a longer job from a measured one: the fixed part (Submit, Record, Succeed, the
 * DELETE) stays, everything else grows per poll (Wait + CheckStatus + RouteOnStatus, one status call).
 */
function extrapolate(measured: Run, polls: number, durationSeconds: number): Run {
  const grow = (total: number, perPoll: number) => Math.round(total + (polls - measured.polls) * perPoll);
  return {
    transitions: grow(measured.transitions, 3),
    lambda: { ...measured.lambda, CheckStatus: polls },
    koreCalls: grow(measured.koreCalls, 1),
    dynamoWrites: grow(measured.dynamoWrites, measured.dynamoWrites / measured.polls),
    dynamoReads: grow(measured.dynamoReads, measured.dynamoReads / measured.polls),
    lateSeconds: (10 - (durationSeconds % 10)) % 10,
    polls,
  };
}

/** USD per erasure, with the intake's three API calls (POST /requests, GET /verify, POST /verify) on the public API. */
function costPerErasure(run: Run): number {
  const taskMemoryGb = FUNCTION_SPECS['check-erasure-status'].memorySize / 1024;
  const apiMemoryGb = FUNCTION_SPECS['public-api'].memorySize / 1024;
  const taskInvocations = Object.values(run.lambda).reduce((a, b) => a + b, 0);
  const apiInvocations = 3;
  return (
    run.transitions * PRICES_USD.sfnTransition +
    (taskInvocations + apiInvocations) * PRICES_USD.lambdaRequest +
    (taskInvocations * taskMemoryGb * ASSUMED_DURATION_MS.task + apiInvocations * apiMemoryGb * ASSUMED_DURATION_MS.api) / 1000 * PRICES_USD.lambdaGbSecond +
    run.dynamoWrites * PRICES_USD.dynamoWrite +
    run.dynamoReads * PRICES_USD.dynamoRead +
    apiInvocations * PRICES_USD.httpApiRequest
  );
}

export async function workflowBench(ctx: BenchContext): Promise<Row[]> {
  const h = await harness();
  const production = readWorkflowSettings({}).poll;
  const naivePolicy: PollPolicy = { initialSeconds: 10, maxSeconds: 10, fraction: 0, deadlineSeconds: production.deadlineSeconds };
  const jobs: [string, number][] = [
    ['10 s', 10],
    ['5 min', 300],
    ['1 h', 3600],
    ['24 h', 86_400],
  ];
  const naiveMeasuredUpTo = ctx.quick ? 300 : 3600;
  const rows: Row[] = [];
  const table: string[] = [];
  try {
    let lastNaive: Run | undefined;
    for (const [label, seconds] of jobs) {
      // The intake's writes (submitOnBehalf) are not counted: only the execution's.
      const desk = await h.run(seconds, production);
      let naive: Run;
      if (seconds <= naiveMeasuredUpTo) {
        naive = await h.run(seconds, naivePolicy);
        lastNaive = naive;
      } else {
        naive = extrapolate(lastNaive!, Math.ceil(seconds / 10) + (seconds % 10 === 0 ? 1 : 0), seconds);
      }
      const allowedLate = Math.min(1800, Math.max(10, 0.25 * seconds));
      const deskCost = costPerErasure(desk) * 1e6;
      const naiveCost = costPerErasure(naive) * 1e6;
      table.push(
        `  ${label.padEnd(6)} desk: ${desk.transitions} transitions, ${Object.values(desk.lambda).reduce((a, b) => a + b, 0)} Lambda, ${desk.koreCalls} Kore.ai, ${desk.dynamoWrites} W / ${desk.dynamoReads} R DynamoDB, seen ${desk.lateSeconds} s late (allowed ${allowedLate} s), $${deskCost.toFixed(0)}/M | naive${seconds > naiveMeasuredUpTo ? ' (extrapolated)' : ''}: ${naive.transitions} transitions, ${naive.koreCalls} Kore.ai, ${naive.dynamoWrites} W / ${naive.dynamoReads} R, $${naiveCost.toFixed(0)}/M`,
      );
      if (seconds === 86_400) rows.push(row(`workflow ${label} job: transitions, naive 10 s loop ÷ desk`, naive.transitions / desk.transitions, null, '× fewer', 'value ≥ 100'));
      rows.push(row(`workflow ${label} job: state transitions vs naive 10 s loop`, desk.transitions, naive.transitions, 'transitions'));
      rows.push(row(`workflow ${label} job: Lambda invocations vs naive`, Object.values(desk.lambda).reduce((a, b) => a + b, 0), Object.values(naive.lambda).reduce((a, b) => a + b, 0), 'invocations'));
      rows.push(row(`workflow ${label} job: Kore.ai calls vs naive`, desk.koreCalls, naive.koreCalls, 'calls'));
      rows.push(row(`workflow ${label} job: completion seen late (allowed ${allowedLate} s)`, desk.lateSeconds, allowedLate, 's', '≤ 1'));
      rows.push(row(`workflow ${label} job: cost per million erasures vs naive (us-east-1)`, deskCost, naiveCost, 'USD'));
    }
  } finally {
    await h.close();
  }
  for (const line of table) ctx.log(line);
  ctx.log(`  prices (us-east-1): ${JSON.stringify(PRICES_USD)}; assumed billed ms: ${JSON.stringify(ASSUMED_DURATION_MS)}`);
  return rows;
}
