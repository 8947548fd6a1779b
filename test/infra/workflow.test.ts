import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CRASHED_TASK_ERRORS, TRANSIENT_TASK_ERRORS, TASK_HANDLERS, WORKFLOW_STATES } from '../../infra/constructs/erasure-workflow';
import { synthesizeTemplate, workflowDefinition, type AslDefinition, type CfnTemplate } from '../../infra/synth';

let template: CfnTemplate;
let definition: AslDefinition;

beforeAll(() => {
  template = synthesizeTemplate();
  definition = workflowDefinition(template);
});

const workRetry = {
  ErrorEquals: ['KoreRetryableError', ...TRANSIENT_TASK_ERRORS, 'States.Timeout'],
  IntervalSeconds: 2,
  BackoffRate: 2,
  MaxAttempts: 6,
  MaxDelaySeconds: 60,
  JitterStrategy: 'FULL',
};
const crashRetry = {
  ErrorEquals: [...CRASHED_TASK_ERRORS],
  IntervalSeconds: 5,
  BackoffRate: 2,
  MaxAttempts: 2,
  JitterStrategy: 'FULL',
};
const recordRetry = {
  ErrorEquals: [...TRANSIENT_TASK_ERRORS],
  IntervalSeconds: 1,
  BackoffRate: 2,
  MaxAttempts: 5,
  JitterStrategy: 'FULL',
};

describe('erasure workflow definition', () => {
  it('uses JSONPath only: no JSONata, no Variables, no Arguments or Output', () => {
    const text = JSON.stringify(definition);
    expect(definition).not.toHaveProperty('QueryLanguage');
    for (const [name, state] of Object.entries(definition.States)) {
      expect({ name, keys: Object.keys(state).filter((k) => ['QueryLanguage', 'Assign', 'Arguments', 'Output'].includes(k)) }).toEqual({ name, keys: [] });
    }
    expect(text).not.toMatch(/JSONata|\{%/);
  });

  it('has exactly the named states of the interface', () => {
    expect(Object.keys(definition.States).sort()).toEqual(Object.values(WORKFLOW_STATES).sort());
    expect(definition.StartAt).toBe('SubmitErasure');
  });

  it('gives the execution the poll deadline plus one day', () => {
    expect(definition.TimeoutSeconds).toBe(604_800 + 86_400);
    const shorter = workflowDefinition(synthesizeTemplate({ context: { pollDeadlineSeconds: '3600', pollMaxSeconds: '600' } }));
    expect(shorter.TimeoutSeconds).toBe(3600 + 86_400);
  });

  it('invokes plain function ARNs (payloadResponseOnly) from every Task, mapped to the right handler', () => {
    for (const [name, state] of Object.entries(definition.States).filter(([, s]) => s.Type === 'Task')) {
      expect(state.Resource).toMatch(/^arn:aws:lambda:us-east-1:000000000000:function:Functions\w+$/);
      const handler = TASK_HANDLERS[name]!;
      const pascal = handler.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
      expect(state.Resource).toContain(`:function:Functions${pascal}`);
    }
    expect(Object.keys(TASK_HANDLERS).sort()).toEqual(
      Object.entries(definition.States).filter(([, s]) => s.Type === 'Task').map(([n]) => n).sort(),
    );
  });

  it('submits with the whole state as input and output (default ResultPath $), retries transient errors and routes rejections as outcomes', () => {
    expect(definition.States.SubmitErasure).toEqual({
      Type: 'Task',
      Resource: expect.any(String),
      TimeoutSeconds: 60,
      HeartbeatSeconds: 50,
      Retry: [workRetry, crashRetry],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordError' }],
      Next: 'RouteOnSubmission',
    });
    expect(definition.States.RouteOnSubmission).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.rejection', IsPresent: true, Next: 'RecordRejected' },
        { Variable: '$.budgetWait', IsPresent: true, Next: 'WaitForBudget' },
      ],
      Default: 'WaitBeforeCheck',
    });
  });

  it('waits for a turn of the Kore.ai call budget in a Wait state, then submits again', () => {
    expect(definition.States.WaitForBudget).toEqual({ Type: 'Wait', SecondsPath: '$.budgetWait.waitSeconds', Next: 'SubmitErasure' });
  });

  it('waits for the interval the tasks computed, then checks and routes on the outcome', () => {
    expect(definition.States.WaitBeforeCheck).toEqual({ Type: 'Wait', SecondsPath: '$.poll.waitSeconds', Next: 'CheckStatus' });
    expect(definition.States.CheckStatus).toEqual({
      Type: 'Task',
      Resource: expect.any(String),
      TimeoutSeconds: 60,
      HeartbeatSeconds: 50,
      Retry: [workRetry, crashRetry],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'RecordError' }],
      Next: 'RouteOnStatus',
    });
    expect(definition.States.RouteOnStatus).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.poll.outcome', StringEquals: 'SUCCESS', Next: 'RecordCompleted' },
        { Variable: '$.poll.outcome', StringEquals: 'FAILED', Next: 'RecordFailed' },
        { Variable: '$.poll.outcome', StringEquals: 'TIMED_OUT', Next: 'RecordTimedOut' },
      ],
      Default: 'WaitBeforeCheck',
    });
  });

  it.each([
    ['RecordCompleted', 'COMPLETED', 'Erased'],
    ['RecordFailed', 'FAILED', 'ErasureFailed'],
    ['RecordTimedOut', 'TIMED_OUT', 'ErasureTimedOut'],
    ['RecordRejected', 'REJECTED', 'ErasureRejected'],
    ['RecordError', 'ERROR', 'WorkflowError'],
  ])('%s records %s with retries on Lambda service errors, then goes to %s', (name, outcome, next) => {
    expect(definition.States[name]).toEqual({
      Type: 'Task',
      Resource: expect.any(String),
      Parameters: { 'requestId.$': '$.requestId', 'attempt.$': '$.attempt', outcome, 'state.$': '$' },
      ResultPath: '$.recorded',
      TimeoutSeconds: 60,
      HeartbeatSeconds: 50,
      Retry: [recordRetry, crashRetry],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'WorkflowError' }],
      Next: next,
    });
  });

  it('succeeds when erased or rejected (the process working) and ends in named Fail states otherwise', () => {
    expect(definition.States.Erased).toMatchObject({ Type: 'Succeed' });
    expect(definition.States.ErasureRejected).toMatchObject({ Type: 'Succeed' });
    for (const [name, error] of [
      ['ErasureFailed', 'ErasureFailed'],
      ['ErasureTimedOut', 'ErasureTimedOut'],
      ['WorkflowError', 'WorkflowError'],
    ]) {
      expect(definition.States[name!]).toEqual({ Type: 'Fail', Error: error, Cause: expect.any(String) });
    }
  });
});

/** Runs the synthesized definition in the local emulator with fake task handlers. */
function run(
  handlers: Record<string, (input: Record<string, unknown>) => Promise<unknown>>,
  input: Record<string, unknown> = { requestId: 'r-1', attempt: 1 },
) {
  const recorded: Array<{ state: string; outcome: unknown; attempt: unknown }> = [];
  const record = (state: string) => async (event: Record<string, unknown>) => {
    recorded.push({ state, outcome: event.outcome, attempt: event.attempt });
    return { ok: true };
  };
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run(input as never, {
    overrides: {
      // The emulator types handlers over JSONValue; ours take and return plain objects.
      taskResourceLocalHandlers: {
        RecordCompleted: record('RecordCompleted'),
        RecordFailed: record('RecordFailed'),
        RecordTimedOut: record('RecordTimedOut'),
        RecordRejected: record('RecordRejected'),
        RecordError: record('RecordError'),
        ...handlers,
      } as never,
      waitTimeOverrides: { WaitBeforeCheck: 0, WaitForBudget: 0 },
      retryIntervalOverrides: {
        SubmitErasure: 0,
        CheckStatus: 0,
        RecordCompleted: 0,
        RecordFailed: 0,
        RecordTimedOut: 0,
        RecordRejected: 0,
        RecordError: 0,
      },
    },
  });
  return { result: execution.result, recorded };
}

function named(name: string): Error {
  const error = new Error('simulated');
  error.name = name;
  return error;
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExecutionError) return (error.cause as Error).name;
    throw error;
  }
  throw new Error('the execution succeeded');
}

describe('erasure workflow in the local emulator', () => {
  it('polls until Kore.ai reports success, then records COMPLETED and succeeds', async () => {
    const outcomes = ['IN_PROGRESS', 'IN_PROGRESS', 'SUCCESS'];
    const { result, recorded } = run({
      SubmitErasure: async (state) => ({ ...state, koreRequestId: 'eud-1', poll: { waitSeconds: 10, outcome: 'IN_PROGRESS' } }),
      CheckStatus: async (state) => ({ ...state, poll: { waitSeconds: 20, outcome: outcomes.shift() } }),
    });

    const output = (await result) as Record<string, unknown>;

    expect(output).toMatchObject({ requestId: 'r-1', attempt: 1, koreRequestId: 'eud-1', recorded: { ok: true } });
    expect(outcomes).toEqual([]);
    expect(recorded).toEqual([{ state: 'RecordCompleted', outcome: 'COMPLETED', attempt: 1 }]);
  });

  it('loops through WaitForBudget while the submit has no turn, then goes on without an error', async () => {
    let calls = 0;
    const { result, recorded } = run({
      SubmitErasure: async (state) => {
        calls += 1;
        const { budgetWait: _previous, ...rest } = state;
        return calls < 3 ? { ...rest, budgetWait: { waitSeconds: 7, reason: 'budget' } } : { ...rest, koreRequestId: 'eud-1', poll: { waitSeconds: 1 } };
      },
      CheckStatus: async (state) => ({ ...state, poll: { waitSeconds: 1, outcome: 'SUCCESS' } }),
    });

    expect(await result).not.toHaveProperty('budgetWait');
    expect(calls).toBe(3);
    expect(recorded.map((r) => r.outcome)).toEqual(['COMPLETED']);
  });

  it('retries a throttled submit and goes on', async () => {
    let calls = 0;
    const { result, recorded } = run({
      SubmitErasure: async (state) => {
        calls += 1;
        if (calls < 3) throw named('Lambda.TooManyRequestsException');
        return { ...state, poll: { waitSeconds: 1 } };
      },
      CheckStatus: async (state) => ({ ...state, poll: { waitSeconds: 1, outcome: 'SUCCESS' } }),
    });

    await result;

    expect(calls).toBe(3);
    expect(recorded.map((r) => r.outcome)).toEqual(['COMPLETED']);
  });

  it.each([
    ['KorePermanentError', 'RecordError', 'ERROR', 'WorkflowError'],
    // Rejections come back as `rejection`; thrown anyway (an older task), they are unexpected errors.
    ['KoreRefusedError', 'RecordError', 'ERROR', 'WorkflowError'],
  ])('turns a submit failing with %s into %s (%s) and ends in %s', async (error, state, outcome, end) => {
    const { result, recorded } = run({
      SubmitErasure: async () => {
        throw named(error);
      },
    });

    expect(await failure(result)).toBe(end);
    expect(recorded).toEqual([{ state, outcome, attempt: 1 }]);
  });

  it.each([
    ['the re-check', { rule: 'BOT_OWNER', botIds: ['st-1'], source: 'snapshot' }],
    ['the platform', { rule: 'PLATFORM_RULES', botIds: [], source: 'platform' }],
  ])('records a rejection by %s with RecordRejected and succeeds as ErasureRejected', async (_by, rejection) => {
    const { result, recorded } = run({ SubmitErasure: async (s) => ({ ...s, rejection }) });
    expect(await result).toMatchObject({ rejection });
    expect(recorded).toEqual([{ state: 'RecordRejected', outcome: 'REJECTED', attempt: 1 }]);
  });

  it('gives up on a Kore.ai outage after six retries and records the error', async () => {
    let calls = 0;
    const { result, recorded } = run({
      SubmitErasure: async () => {
        calls += 1;
        throw named('KoreRetryableError');
      },
    });

    expect(await failure(result)).toBe('WorkflowError');
    expect(calls).toBe(7);
    expect(recorded.map((r) => r.outcome)).toEqual(['ERROR']);
  });

  it.each([
    ['FAILED', 'RecordFailed', 'ErasureFailed'],
    ['TIMED_OUT', 'RecordTimedOut', 'ErasureTimedOut'],
  ])('records a %s poll outcome with %s and fails as %s', async (pollOutcome, state, end) => {
    const { result, recorded } = run({
      SubmitErasure: async (s) => ({ ...s, poll: { waitSeconds: 1 } }),
      CheckStatus: async (s) => ({ ...s, poll: { waitSeconds: 1, outcome: pollOutcome } }),
    });

    expect(await failure(result)).toBe(end);
    expect(recorded.map((r) => r.state)).toEqual([state]);
  });

  it('retries a CheckStatus whose Lambda timed out (Sandbox.Timedout) and goes on', async () => {
    let checks = 0;
    const { result, recorded } = run({
      SubmitErasure: async (s) => ({ ...s, poll: { waitSeconds: 1 } }),
      CheckStatus: async (s) => {
        checks += 1;
        if (checks === 1) throw named('Sandbox.Timedout');
        return { ...s, poll: { waitSeconds: 1, outcome: 'SUCCESS' } };
      },
    });

    await result;

    expect(checks).toBe(2);
    expect(recorded.map((r) => r.outcome)).toEqual(['COMPLETED']);
  });

  it('retries a crashed SubmitErasure (Lambda.Unknown) twice, then records the error instead of trying again', async () => {
    let calls = 0;
    const { result, recorded } = run({
      SubmitErasure: async () => {
        calls += 1;
        throw named('Lambda.Unknown');
      },
    });

    expect(await failure(result)).toBe('WorkflowError');
    expect(calls).toBe(3);
    expect(recorded.map((r) => r.outcome)).toEqual(['ERROR']);
  });

  it('ends in WorkflowError when recording itself keeps failing', async () => {
    let attempts = 0;
    const { result } = run({
      SubmitErasure: async (s) => ({ ...s, poll: { waitSeconds: 1 } }),
      CheckStatus: async (s) => ({ ...s, poll: { waitSeconds: 1, outcome: 'SUCCESS' } }),
      RecordCompleted: async () => {
        attempts += 1;
        throw named('Lambda.ServiceException');
      },
    });

    expect(await failure(result)).toBe('WorkflowError');
    expect(attempts).toBe(6);
  });
});
