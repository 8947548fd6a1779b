/**
 * Signing power on the synthesized template: which function may sign with which KMS key, who may
 * only verify, and the checkpoint bucket's policy against planted objects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES } from '../../infra/constructs/functions';
import { envOf, joinToString, lambdaOf, removeAssemblies, resourcesOfType, statementsOf, synth, type Synthesized } from './support';

let synthesized: Synthesized;
afterAll(removeAssemblies);
beforeAll(() => {
  synthesized = synth({ context: { canaryBotIds: 'st-canary-1', canaryUserId: 'canary@example.com', mailFrom: 'privacy@example.com' } });
});

/** The logical id of the KMS signing key whose construct id is `name` (`SigningKey`, `CheckpointSigningKey`). */
function keyId(name: string): string {
  const found = resourcesOfType(synthesized.json, 'AWS::KMS::Key').filter(([id]) => new RegExp(`^Secrets${name}[0-9A-F]{8}$`).test(id));
  expect(found).toHaveLength(1);
  return found[0]![0];
}

/** For each function, the KMS actions it holds on each signing key (by key name). */
function kmsGrants(): Record<string, Record<string, string[]>> {
  const keys = { receipt: keyId('SigningKey'), checkpoint: keyId('CheckpointSigningKey') };
  const out: Record<string, Record<string, string[]>> = {};
  for (const name of FUNCTION_NAMES) {
    for (const statement of statementsOf(synthesized.json, name)) {
      const actions = ([] as string[]).concat(statement.Action).filter((a) => a.startsWith('kms:'));
      const resources = ([] as unknown[]).concat(statement.Resource).map(joinToString);
      for (const [keyName, id] of Object.entries(keys)) {
        if (actions.length === 0 || !resources.some((r) => r === `\${${id}.Arn}`)) continue;
        const held = (out[name] ??= {});
        held[keyName] = [...new Set([...(held[keyName] ?? []), ...actions])].sort();
      }
    }
  }
  return out;
}

describe('signing keys', () => {
  it('gives sign-checkpoints alone kms:Sign on the checkpoint key, and public-api alone kms:Sign on the receipt key', () => {
    expect(kmsGrants()).toEqual({
      'public-api': { receipt: ['kms:GetPublicKey', 'kms:Sign'] },
      'audit-api': { checkpoint: ['kms:GetPublicKey', 'kms:Verify'] },
      console: { checkpoint: ['kms:GetPublicKey', 'kms:Verify'] },
      // The ops API shows the chain check too, so it verifies checkpoints (and signs nothing).
      'ops-api': { checkpoint: ['kms:GetPublicKey', 'kms:Verify'] },
      'sign-checkpoints': { checkpoint: ['kms:GetPublicKey', 'kms:Sign', 'kms:Verify'] },
    });
  });

  it('gives no function kms:Sign on any key but through those two grants', () => {
    const signers = FUNCTION_NAMES.filter((name) => statementsOf(synthesized.json, name).some((s) => ([] as string[]).concat(s.Action).some((a) => a === 'kms:Sign' || a === 'kms:*')));
    expect(signers.sort()).toEqual(['public-api', 'sign-checkpoints']);
  });

  it('leaves the key policies to the account (no principal is granted signing in the key policy itself)', () => {
    for (const id of [keyId('SigningKey'), keyId('CheckpointSigningKey')]) {
      const policy = (synthesized.json.Resources[id]!.Properties as { KeyPolicy: { Statement: { Principal: unknown; Action: unknown }[] } }).KeyPolicy;
      for (const statement of policy.Statement) {
        expect(JSON.stringify(statement.Principal)).toMatch(/:root/);
      }
    }
  });

  it('names each key in the environment of exactly the functions that use it', () => {
    const receipt = FUNCTION_NAMES.filter((n) => 'RECEIPT_SIGNING_KEY_ID' in envOf(lambdaOf(synthesized.json, n)[1]));
    const checkpoint = FUNCTION_NAMES.filter((n) => 'CHECKPOINT_SIGNING_KEY_ID' in envOf(lambdaOf(synthesized.json, n)[1]));
    expect(receipt).toEqual(['public-api']);
    expect(checkpoint.sort()).toEqual(['audit-api', 'console', 'ops-api', 'sign-checkpoints']);
    expect(FUNCTION_NAMES.filter((n) => 'SIGNING_KEY_ID' in envOf(lambdaOf(synthesized.json, n)[1]))).toEqual([]);
  });
});

describe('checkpoint bucket policy', () => {
  function denyStatements(): { Sid?: string; Action: unknown; Principal: unknown; Resource?: unknown; NotResource?: unknown; Condition?: unknown }[] {
    const bucketId = resourcesOfType(synthesized.json, 'AWS::S3::Bucket').find(([, b]) => (b.Properties as { ObjectLockEnabled?: boolean }).ObjectLockEnabled)![0];
    const policy = resourcesOfType(synthesized.json, 'AWS::S3::BucketPolicy').find(([, p]) => joinToString((p.Properties as { Bucket: unknown }).Bucket) === `\${${bucketId}}`)!;
    const statements = (policy[1].Properties as { PolicyDocument: { Statement: { Effect: string; Sid?: string; Action: unknown; Principal: unknown }[] } }).PolicyDocument.Statement;
    return statements.filter((s) => s.Effect === 'Deny');
  }

  it('refuses, for everyone, a put under any key but the checkpoint pattern', () => {
    const statement = denyStatements().find((s) => s.Sid === 'DenyPutOutsideCheckpointKeys')!;
    expect(statement).toMatchObject({ Action: 's3:PutObject', Principal: { AWS: '*' } });
    expect(joinToString(statement.NotResource)).toMatch(/\/checkpoints\/checkpoint-\?\?\?\?-\?\?-\?\?T\?\?-\?\?-\?\?-\?\?\?Z\.jws$/);
  });

  it('refuses, for everyone, a put without If-None-Match (a new version over a locked checkpoint)', () => {
    const statement = denyStatements().find((s) => s.Sid === 'DenyPutWithoutIfNoneMatch')!;
    expect(statement).toMatchObject({ Action: 's3:PutObject', Principal: { AWS: '*' }, Condition: { Null: { 's3:if-none-match': 'true' } } });
    expect(joinToString(statement.Resource)).toMatch(/\/\*$/);
  });
});
