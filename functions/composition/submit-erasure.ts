/** Wiring of the submit-erasure function (Step Functions task SubmitErasure). */
import { runTask } from '../adapters/aws/step-functions-task';
import { submitErasure } from '../workflow/submit-erasure';
import { parseWorkflowState, type WorkflowState } from '../workflow/workflow-state';
import { awsFunction } from './aws/environment';
import { batchingFrom, koreWithBudgetFrom } from './aws/kore';
import { appKeysFrom } from './aws/secrets';
import { taskDepsOf, type Task, type TaskAdapters } from './tasks';

export function composeSubmitErasure(a: TaskAdapters): Task<WorkflowState> {
  const { deps, logger } = taskDepsOf(a);
  return (input) => runTask('SubmitErasure', input, async () => submitErasure(deps, parseWorkflowState(input)), logger);
}

/** The function in AWS: table, app keys, Kore.ai, the batches of erasures. */
export const submitErasureOnAws = awsFunction('submit-erasure', async (base, env) => composeSubmitErasure({ ...base, ...(await appKeysFrom(env)), ...(await koreWithBudgetFrom(env, base)), ...batchingFrom(env, base) }));
