/**
 * Every Lambda starts with the environment the stack gives it. The code declares what each
 * function uses (functions/adapters/env/capabilities.ts); the synthesized template must carry every
 * variable of those capabilities, and each function's wiring must build from exactly the
 * template's environment (CloudFormation references replaced by stand-ins, secrets mocked).
 * Every variable name is written once (`ENV`, functions/adapters/env/variables.ts): the template
 * gives functions no other, and gives some function each one that is not optional for a reason.
 */
import { readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AWS_FUNCTIONS } from '../../functions/composition/aws/functions';
import { clearSecretCache } from '../../functions/adapters/aws/secrets';
import { FUNCTION_CAPABILITIES, FUNCTION_NAMES, requiredVariables, type FunctionName } from '../../functions/adapters/env/capabilities';
import { ENV, OPTIONAL_ENV, type EnvName } from '../../functions/adapters/env/variables';
import { FUNCTION_SPECS } from '../../infra/constructs/functions';
import { LIFECYCLE_KEYS } from '../../infra/config';
import { createApp } from '../../infra/synth';
import { envOf, lambdaOf, removeAssemblies, synth, type Synthesized } from './support';
import { sourceFiles } from '../support/source-files';

const ROOT = join(import.meta.dirname, '..', '..');

let deployed: Synthesized;
const secrets = mockClient(SecretsManagerClient);

beforeAll(() => {
  // Every optional feature on, so every function (run-canary included) is in the template.
  deployed = synth({ context: { mailFrom: 'privacy@example.com', canaryBotIds: 'st-canary-1', canaryUserId: 'canary@example.com' } });
});

afterAll(removeAssemblies);

afterEach(() => {
  secrets.reset();
  clearSecretCache();
});

const secretArn = (variable: string) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${variable.toLowerCase().replace(/_/g, '-')}-AbCdEf`;

/** A function's environment as the template sets it, each CloudFormation reference replaced by a stand-in of the right shape. */
function templateEnvironment(name: FunctionName): Record<string, string> {
  return Object.fromEntries(
    Object.entries(envOf(lambdaOf(deployed.json, name)[1])).map(([key, value]) => {
      if (typeof value === 'string') return [key, value];
      if (key === 'STATE_MACHINE_ARN') return [key, 'arn:aws:states:eu-west-1:123456789012:stateMachine:ErasureDeskStandIn'];
      if (key.endsWith('_SECRET_ARN')) return [key, secretArn(key)];
      return [key, /_URL$|_ISSUER$/.test(key) ? `https://stand-in.example.com/${key.toLowerCase()}` : `stand-in-${key.toLowerCase()}`];
    }),
  );
}

describe('function environments', () => {
  it.each(FUNCTION_NAMES)('gives %s every variable its code declares it needs', (name) => {
    const present = Object.keys(envOf(lambdaOf(deployed.json, name)[1]));

    expect(requiredVariables(name).filter((v) => !present.includes(v))).toEqual([]);
  });

  it.each(FUNCTION_NAMES)('builds the %s function from the template environment alone', async (name) => {
    secrets.on(GetSecretValueCommand, { SecretId: secretArn('APP_SECRET_ARN') }).resolves({ SecretString: JSON.stringify({ subjectKey: 's'.repeat(32), linkKey: 'l'.repeat(48) }) });
    secrets.on(GetSecretValueCommand, { SecretId: secretArn('KORE_CREDENTIALS_SECRET_ARN') }).resolves({ SecretString: JSON.stringify({ clientId: 'cs-1', clientSecret: 'x'.repeat(24) }) });

    await expect(AWS_FUNCTIONS[name].build(templateEnvironment(name))).resolves.toBeDefined();
  });

  it('gives sign-checkpoints no app secret: it declares none and builds without it', () => {
    expect(FUNCTION_CAPABILITIES['sign-checkpoints']).not.toContain('appSecret');
    expect(envOf(lambdaOf(deployed.json, 'sign-checkpoints')[1])).not.toHaveProperty('APP_SECRET_ARN');
  });

  it('gives every function that shows a chain check the checkpoint bucket', () => {
    for (const name of ['audit-api', 'ops-api', 'console'] as const) {
      expect({ name, declared: FUNCTION_CAPABILITIES[name].includes('checkpoints') }).toEqual({ name, declared: true });
      expect(envOf(lambdaOf(deployed.json, name)[1])).toHaveProperty('CHECKPOINT_BUCKET');
    }
  });

  it('refuses to synthesize a function missing a variable its code declares', () => {
    const spec = FUNCTION_SPECS['ops-api'] as { checkpoints?: 'read' | 'write' };
    const saved = spec.checkpoints;
    delete spec.checkpoints;
    try {
      const { app } = createApp({ bundle: false, nag: false, cfnValidation: false });
      expect(() => app.synth()).toThrowError(/Function ops-api needs CHECKPOINT_BUCKET/);
    } finally {
      spec.checkpoints = saved;
    }
  });
});

describe('environment variable names (ENV)', () => {
  const givenIn = (json: Synthesized['json']) => new Set(FUNCTION_NAMES.flatMap((name) => Object.keys(envOf(lambdaOf(json, name)[1]))));

  it('names each variable as itself', () => {
    for (const [key, value] of Object.entries(ENV)) expect(value).toBe(key);
  });

  it('gives functions only variables named in ENV', () => {
    expect([...givenIn(deployed.json)].filter((v) => !(v in ENV))).toEqual([]);
  });

  it('gives some function every variable in ENV, unless it is optional for a stated reason', () => {
    const given = givenIn(deployed.json);
    expect(Object.keys(ENV).filter((v) => !given.has(v) && !OPTIONAL_ENV[v as EnvName])).toEqual([]);
    for (const [name, reason] of Object.entries(OPTIONAL_ENV)) expect({ name, reason: (reason ?? '').length > 20 }).toEqual({ name, reason: true });
  });

  it('gives some function every optional variable that has a context key, once that key is configured', () => {
    const configured = synth({
      context: {
        mailFrom: 'privacy@example.com',
        canaryBotIds: 'st-canary-1',
        canaryUserId: 'canary@example.com',
        koreTimeoutMs: 9000,
        ...Object.fromEntries(Object.keys(LIFECYCLE_KEYS).map((key) => [key, 1200])),
      },
    });
    const given = givenIn(configured.json);
    const withKey = [...Object.values(LIFECYCLE_KEYS), ENV.KORE_TIMEOUT_MS];
    expect(withKey.filter((v) => !given.has(v))).toEqual([]);
    // The rest have no context key: no configuration sets them.
    expect(Object.keys(OPTIONAL_ENV).filter((v) => !withKey.includes(v as never) && given.has(v))).toEqual([]);
  });

  it('reads no variable by a name written outside ENV', () => {
    const offenders = sourceFiles(join(ROOT, 'functions'))
      .filter((file) => !file.includes(`${sep}cli${sep}`) && !file.endsWith(`${sep}variables.ts`))
      .flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/FromEnv\(\s*'([A-Z][A-Z0-9_]+)'|process\.env\.([A-Z][A-Z0-9_]+)|process\.env\[\s*'([A-Z][A-Z0-9_]+)'/g)].map((m) => `${relative(ROOT, file)}: ${m[1] ?? m[2] ?? m[3]}`));
    expect(offenders).toEqual([]);
  });
});
