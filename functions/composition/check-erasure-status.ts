/** Wiring of the check-erasure-status function (Step Functions task CheckStatus). */
import { runTask } from '../adapters/aws/step-functions-task';
import { checkErasureStatus } from '../workflow/check-erasure-status';
import { parseWorkflowState, type WorkflowState } from '../workflow/workflow-state';
import { awsFunction } from './aws/environment';
import { batchingFrom, koreWithBudgetFrom } from './aws/kore';
import { appKeysFrom } from './aws/secrets';
import { taskDepsOf, type Task, type TaskAdapters } from './tasks';

export function composeCheckErasureStatus(a: TaskAdapters): Task<WorkflowState> {
  const { deps, logger } = taskDepsOf(a);
  return (input) => runTask('CheckStatus', input, async () => checkErasureStatus(deps, parseWorkflowState(input)), logger);
}

/** The function in AWS: table, app keys, Kore.ai, the batches of erasures. */
export const checkErasureStatusOnAws = awsFunction('check-erasure-status', async (base, env) =>
  composeCheckErasureStatus({ ...base, ...(await appKeysFrom(env)), ...(await koreWithBudgetFrom(env, base)), ...batchingFrom(env, base) }),
);
