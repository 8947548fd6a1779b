/** Wiring of the console function: the auditor and ops console. */
import { createHmac } from 'node:crypto';
import { createConsole } from '../adapters/http/staff/console';
import type { HttpHandler } from './adapters';
import { opsDepsOf, type OpsAdapters } from './staff';
import { checkpointsFrom } from './aws/checkpoints';
import { awsFunction } from './aws/environment';
import { mailerFrom } from './aws/mail';
import { appKeysFrom } from './aws/secrets';
import { rolesRefreshFrom, staffAuthFrom } from './aws/staff';
import { workflowFrom } from './aws/workflow';

export function composeConsole(a: OpsAdapters): HttpHandler {
  return createConsole({
    ...opsDepsOf(a),
    // Its own key, derived from the link key, so console and form CSRF tokens never stand in for each other.
    csrfKey: createHmac('sha256', a.linkKey).update('erasure-desk console csrf v1').digest(),
    sessions: a.sessionRevocations,
    logger: a.logger,
  });
}

/** The function in AWS: table, app keys, checkpoints, workflow, staff tokens, mail; the roles refresh runs in refresh-roles-snapshot. */
export const consoleOnAws = awsFunction('console', async (base, env) =>
  composeConsole({
    ...base,
    ...(await appKeysFrom(env)),
    ...(await checkpointsFrom(env)),
    ...(await rolesRefreshFrom(env)),
    workflow: await workflowFrom(env),
    mailer: await mailerFrom(env),
    staffAuth: staffAuthFrom(env),
  }),
);
