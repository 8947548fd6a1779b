/** The Object Lock bucket of signed checkpoints, with the checkpoint key, for the functions that check or sign chains. */
import { getOptionalStringFromEnv } from '../../adapters/env/settings';
import type { ApplicationAdapters } from '../adapters';
import type { Env } from './environment';
import { checkpointSignerFrom } from './signers';
import { ENV } from '../../adapters/env/variables';

export async function checkpointsFrom(env: Env): Promise<Pick<ApplicationAdapters, 'checkpointSigner' | 'checkpointWriter'>> {
  const checkpointSigner = await checkpointSignerFrom(env);
  const bucket = getOptionalStringFromEnv(ENV.CHECKPOINT_BUCKET, env);
  if (!bucket) return { checkpointSigner };
  const [{ S3Client }, { S3CheckpointWriter }] = await Promise.all([import('@aws-sdk/client-s3'), import('../../adapters/aws/s3-checkpoints')]);
  return { checkpointSigner, checkpointWriter: new S3CheckpointWriter({ client: new S3Client({}), bucket }) };
}
