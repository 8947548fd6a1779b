/**
 * Schedule: signs the heads of all audit chains, recomputed from their events, into the Object
 * Lock bucket. A chain that no longer extends its signed head is withheld (logged by request id)
 * and the run fails with ChainTamperedError after writing the checkpoint, which raises this
 * function's error alarm.
 */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { signCheckpointsOnAws } from './composition/sign-checkpoints';
import { applicationLogger, powertoolsLogger } from './adapters/aws/logger';

export const handler = middy(async () => {
  const written = await (await signCheckpointsOnAws.get())();
  applicationLogger.info('checkpoint signed', { key: written.key, chains: written.count, prev: written.prev });
  return written;
}).use(injectLambdaContext(powertoolsLogger));
