/**
 * Wiring of the Step Functions task functions (submit-erasure, check-erasure-status,
 * record-outcome). Whatever a task throws reaches Step Functions as its name only (see
 * adapters/aws/step-functions-task).
 */
import { runTask, type TaskFailureLog } from '../adapters/aws/step-functions-task';
import { checkErasureStatus, recordOutcome, submitErasure, type ErasureTaskDeps } from '../workflow/erasure-tasks';
import { parseWorkflowState, type RecordOutcomeInput, type WorkflowState } from '../workflow/workflow-state';
import type { ApplicationAdapters } from './adapters';
import { noticesOf, type IntakeAdapters } from './intake';
import { awsFunction } from './aws/environment';
import { koreFrom } from './aws/kore';
import { mailerFrom } from './aws/mail';
import { appKeysFrom } from './aws/secrets';

export type TaskAdapters = IntakeAdapters & Pick<ApplicationAdapters, 'kore'>;
export type Task<T> = (input: unknown) => Promise<T>;

function taskDepsOf(a: TaskAdapters): { deps: ErasureTaskDeps; log?: TaskFailureLog } {
  const deps: ErasureTaskDeps = {
    store: a.store,
    snapshots: a.snapshots,
    kore: a.kore,
    claims: a.claims,
    notices: noticesOf(a),
    clock: a.clock,
    subjectKeys: a.subjectKeys,
    poll: a.settings.poll,
    snapshotMaxAgeSeconds: a.settings.snapshotMaxAgeSeconds,
  };
  const log = a.log;
  return { deps, ...(log ? { log: (entry) => log(entry) } : {}) };
}

export function composeSubmitErasure(a: TaskAdapters): Task<WorkflowState> {
  const { deps, log } = taskDepsOf(a);
  return (input) => runTask('SubmitErasure', input, async () => submitErasure(deps, parseWorkflowState(input)), log);
}

export function composeCheckErasureStatus(a: TaskAdapters): Task<WorkflowState> {
  const { deps, log } = taskDepsOf(a);
  return (input) => runTask('CheckStatus', input, async () => checkErasureStatus(deps, parseWorkflowState(input)), log);
}

export function composeRecordOutcome(a: TaskAdapters): Task<{ recorded: boolean; status?: string }> {
  const { deps, log } = taskDepsOf(a);
  return (input) =>
    runTask(
      'RecordOutcome',
      input,
      async () => {
        const i = input as RecordOutcomeInput;
        return recordOutcome(deps, { ...i, state: parseWorkflowState(i.state ?? { requestId: i.requestId, attempt: i.attempt }) });
      },
      log,
    );
}

/** SubmitErasure in AWS: table, app keys, Kore.ai. */
export const submitErasureOnAws = awsFunction('submit-erasure', async (base, env) => composeSubmitErasure({ ...base, ...(await appKeysFrom(env)), kore: await koreFrom(env) }));

/** CheckStatus in AWS: table, app keys, Kore.ai. */
export const checkErasureStatusOnAws = awsFunction('check-erasure-status', async (base, env) => composeCheckErasureStatus({ ...base, ...(await appKeysFrom(env)), kore: await koreFrom(env) }));

/** Record* in AWS: table, app keys, mail (the subject's notices). */
export const recordOutcomeOnAws = awsFunction('record-outcome', async (base, env) => composeRecordOutcome({ ...base, ...(await appKeysFrom(env)), mailer: await mailerFrom(env) }));
