import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLING } from '../../infra/constructs/functions';
import { PROJECT_ROOT } from '../../infra/synth';

// The cloud assembly goes under node_modules/.cache so the bundle resolves the external AWS SDK
// from the project's node_modules when it is imported below.
let outdir: string;
let assetDir: string;

beforeAll(() => {
  const cache = join(PROJECT_ROOT, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  outdir = mkdtempSync(join(cache, 'erasure-desk-bundle-'));
  const app = new App({ outdir });
  const stack = new Stack(app, 'Probe');
  new nodejs.NodejsFunction(stack, 'Probe', {
    entry: join(PROJECT_ROOT, 'test', 'infra', 'fixtures', 'probe-handler.ts'),
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    bundling: BUNDLING,
  });
  const template = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
  };
  const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function')!;
  assetDir = join(outdir, `asset.${fn.Properties.Code!.S3Key!.replace(/\.zip$/, '')}`);
});

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('function bundling (local esbuild)', () => {
  it('produces one ESM file with a source map', () => {
    expect(readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
  });

  it('starts with the createRequire banner and leaves the AWS SDK to the runtime', () => {
    const code = readFileSync(join(assetDir, 'index.mjs'), 'utf8');
    expect(code.startsWith("import { createRequire } from 'module'; const require = createRequire(import.meta.url);")).toBe(true);
    expect(code).toMatch(/from\s*"@aws-sdk\/client-dynamodb"/);
    expect(code).not.toContain('ResourceNotFoundException'); // the client's own code is not bundled
  });

  it('runs: bundled dependencies, CommonJS requires and the external SDK all load', async () => {
    const file = join(assetDir, 'index.mjs');
    expect(existsSync(file)).toBe(true);
    const mod = (await import(pathToFileURL(file).href)) as { handler: (e: unknown) => Promise<unknown> };

    await expect(mod.handler({ name: 'probe' })).resolves.toEqual({ hello: 'probe', platform: process.platform, sdk: 'function' });
    await expect(mod.handler({ name: '' })).rejects.toThrow();
  });
});
