/** Wiring of the record-outcome function (Step Functions tasks Record*). */
import { runTask } from '../adapters/aws/step-functions-task';
import { recordOutcome } from '../workflow/record-outcome';
import { parseWorkflowState, type RecordOutcomeInput } from '../workflow/workflow-state';
import { awsFunction } from './aws/environment';
import { mailerFrom } from './aws/mail';
import { appKeysFrom } from './aws/secrets';
import { taskDepsOf, type Task, type TaskAdapters } from './tasks';

export function composeRecordOutcome(a: TaskAdapters): Task<{ recorded: boolean; status?: string }> {
  const { deps, logger } = taskDepsOf(a);
  return (input) =>
    runTask(
      'RecordOutcome',
      input,
      async () => {
        const i = input as RecordOutcomeInput;
        return recordOutcome(deps, { ...i, state: parseWorkflowState(i.state ?? { requestId: i.requestId, attempt: i.attempt }) });
      },
      logger,
    );
}

/** The function in AWS: table, app keys, mail (the subject's notices); Kore.ai is never called here. */
export const recordOutcomeOnAws = awsFunction('record-outcome', async (base, env) => composeRecordOutcome({ ...base, ...(await appKeysFrom(env)), mailer: await mailerFrom(env) }));
