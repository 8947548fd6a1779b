/** Wiring of the public-api function: the intake behind the public routes, and the one API description. */
import { staffApiPaths } from '../adapters/http/openapi';
import { createPublicApi } from '../adapters/http/public/public-api';
import type { HttpHandler } from './adapters';
import { intakeDepsOf, type IntakeAdapters } from './intake';
import { awsFunction } from './aws/environment';
import { mailerFrom } from './aws/mail';
import { appKeysFrom } from './aws/secrets';
import { receiptSignerFrom } from './aws/signers';
import { workflowFrom } from './aws/workflow';

export function composePublicApi(a: IntakeAdapters): HttpHandler {
  return createPublicApi({ ...intakeDepsOf(a), extraOpenApiPaths: staffApiPaths() });
}

/** The function in AWS: table, app keys, receipt key, workflow, mail. */
export const publicApiOnAws = awsFunction('public-api', async (base, env) =>
  composePublicApi({ ...base, ...(await appKeysFrom(env)), receiptSigner: await receiptSignerFrom(env), workflow: await workflowFrom(env), mailer: await mailerFrom(env) }),
);
