/** Wiring of the sign-checkpoints function. */
import { RETENTION_MARGIN_DAYS } from '../adapters/dynamo/audit-store';
import { ConfigurationError } from '../adapters/env/settings';
import { createCheckpointReader, signCheckpoints, type SignedCheckpoint } from '../staff/checkpoints';
import type { ApplicationAdapters } from './adapters';
import { checkpointsFrom } from './aws/checkpoints';
import { awsFunction } from './aws/environment';

export function composeSignCheckpoints(
  a: Pick<ApplicationAdapters, 'store' | 'checkpointSigner' | 'checkpointWriter' | 'recordRetentionDays' | 'clock' | 'logger'>,
): () => Promise<SignedCheckpoint> {
  return async () => {
    const writer = a.checkpointWriter;
    if (!writer) throw new ConfigurationError('This function is not configured for checkpoints (CHECKPOINT_BUCKET)');
    const reader = createCheckpointReader({ store: writer, verifier: a.checkpointSigner, clock: a.clock, logger: a.logger });
    return signCheckpoints(
      {
        store: a.store,
        signer: a.checkpointSigner,
        writer,
        reader,
        ...(a.recordRetentionDays !== undefined ? { expireAfterDays: a.recordRetentionDays + RETENTION_MARGIN_DAYS } : {}),
        logger: a.logger,
      },
      a.clock.now(),
    );
  };
}

/** The function in AWS: table, checkpoint bucket and key; never the app secret (it signs hashes). */
export const signCheckpointsOnAws = awsFunction('sign-checkpoints', async (base, env) => composeSignCheckpoints({ ...base, ...(await checkpointsFrom(env)) }));
