/**
 * The two KMS keys, each signing one kind of object with its own JWS typ; IAM decides who may
 * sign with which (kms:Sign) and who may only read the public half (GetPublicKey).
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { CHECKPOINT_JWS_TYPE, RECEIPT_JWS_TYPE } from '../../domain/checkpoints';
import type { Signer } from '../../domain/ports';
import { getOptionalStringFromEnv } from '../../adapters/env/settings';
import { unavailable, type Env } from './environment';
import { ENV } from '../../adapters/env/variables';

let kmsClient: KMSClient | undefined;

async function kmsSigner(keyId: string, typ: string): Promise<Signer> {
  const [{ KMSClient }, { KmsSigner }] = await Promise.all([import('@aws-sdk/client-kms'), import('../../adapters/aws/kms-signer')]);
  kmsClient ??= new KMSClient({});
  return new KmsSigner({ client: kmsClient, keyId, typ });
}

/** Signs erasure receipts (public-api only). */
export async function receiptSignerFrom(env: Env): Promise<Signer> {
  const keyId = getOptionalStringFromEnv(ENV.RECEIPT_SIGNING_KEY_ID, env);
  return keyId ? kmsSigner(keyId, RECEIPT_JWS_TYPE) : unavailable<Signer>('receipt signing (RECEIPT_SIGNING_KEY_ID)');
}

/** Verifies checkpoints everywhere the chain is checked; signs them in sign-checkpoints. */
export async function checkpointSignerFrom(env: Env): Promise<Signer> {
  const keyId = getOptionalStringFromEnv(ENV.CHECKPOINT_SIGNING_KEY_ID, env);
  return keyId ? kmsSigner(keyId, CHECKPOINT_JWS_TYPE) : unavailable<Signer>('checkpoint keys (CHECKPOINT_SIGNING_KEY_ID)');
}
