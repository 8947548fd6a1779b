/** Wiring of the ops-api function: the ops actions, and submission on a subject's behalf. */
import { createOpsApi } from '../adapters/http/staff/ops-api';
import { submitOnBehalf } from '../intake/submit-on-behalf';
import type { HttpHandler } from './adapters';
import { intakeDepsOf } from './intake';
import { opsDepsOf, type OpsAdapters } from './staff';
import { checkpointsFrom } from './aws/checkpoints';
import { awsFunction } from './aws/environment';
import { mailerFrom } from './aws/mail';
import { appKeysFrom } from './aws/secrets';
import { rolesRefreshFrom, staffAuthFrom } from './aws/staff';
import { workflowFrom } from './aws/workflow';

export function composeOpsApi(a: OpsAdapters): HttpHandler {
  const intake = intakeDepsOf(a);
  return createOpsApi({
    ...opsDepsOf(a),
    logger: a.logger,
    submitOnBehalf: async (body, actor) => ({ ...(await submitOnBehalf(intake, body, actor as `staff:${string}`)) }),
  });
}

/** The function in AWS: table, app keys, checkpoints, workflow, staff tokens, mail; the roles refresh runs in refresh-roles-snapshot. */
export const opsApiOnAws = awsFunction('ops-api', async (base, env) =>
  composeOpsApi({
    ...base,
    ...(await appKeysFrom(env)),
    ...(await checkpointsFrom(env)),
    ...(await rolesRefreshFrom(env)),
    workflow: await workflowFrom(env),
    mailer: await mailerFrom(env),
    staffAuth: staffAuthFrom(env),
  }),
);
