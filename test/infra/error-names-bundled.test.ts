/**
 * The names the state machine and the code match errors by must survive the build AWS runs: the
 * stack's own esbuild bundles (minified, `BUNDLING` in infra/constructs/functions.ts), not the
 * TypeScript source the other suites import. The stack is synthesized with bundling on, exactly as
 * `cdk synth` does, and each function's asset is read as deployed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLING } from '../../infra/constructs/functions';
import { TASK_HANDLERS } from '../../infra/constructs/erasure-workflow';
import { createApp, workflowDefinition, type CfnTemplate } from '../../infra/synth';
import { lambdaOf } from './support';

let outdir: string;
let template: CfnTemplate;
const bundles = new Map<string, string>();

/** The deployed code of a function, read from its asset directory in the cloud assembly. */
function bundleOf(name: string): string {
  let code = bundles.get(name);
  if (code === undefined) {
    const [, fn] = lambdaOf(template, name);
    const key = (fn.Properties as { Code: { S3Key: string } }).Code.S3Key;
    code = readFileSync(join(outdir, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs'), 'utf8');
    bundles.set(name, code);
  }
  return code;
}

/** True when the bundle assigns `name` the literal (`this.name="X"` or a `name="X"` class field), however minified. */
function assignsName(code: string, name: string): boolean {
  return new RegExp(`\\bname\\s*=\\s*(["'\`])${name}\\1`).test(code);
}

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'erasure-desk-bundled-'));
  const { app, stack } = createApp({ bundle: true, nag: false, cfnValidation: false, outdir });
  template = app.synth().getStackByName(stack.stackName).template as CfnTemplate;
}, 300_000);

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** The error names a Task state's Retry and Catch match, without the service's own (`States.*`, `Lambda.*`, `Sandbox.*`). */
function matchedNames(state: Record<string, unknown>): string[] {
  const clauses = [...((state.Retry as Array<{ ErrorEquals: string[] }>) ?? []), ...((state.Catch as Array<{ ErrorEquals: string[] }>) ?? [])];
  return [...new Set(clauses.flatMap((c) => c.ErrorEquals))].filter((n) => !/^(States|Lambda|Sandbox)\./.test(n));
}

describe('error names in the deployed bundles', () => {
  it('minifies the bundles, so class names are not kept', () => {
    expect(BUNDLING.minify).toBe(true);
    expect(BUNDLING.keepNames ?? false).toBe(false);
    expect(bundleOf('submit-erasure')).not.toMatch(/class KoreRetryableError\b/);
  });

  it('matches on named errors in the state machine (not only States.ALL)', () => {
    const definition = workflowDefinition(template);
    const names = Object.values(definition.States).filter((s) => s.Type === 'Task').flatMap(matchedNames);
    expect(names).toEqual(expect.arrayContaining(['KoreRetryableError', 'StoreUnavailableError']));
  });

  it('gives every error name a Retry or Catch matches to the bundle of the task that throws it', () => {
    const definition = workflowDefinition(template);
    const missing: string[] = [];
    for (const [stateName, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task') continue;
      const fn = TASK_HANDLERS[stateName]!;
      for (const name of matchedNames(state)) if (!assignsName(bundleOf(fn), name)) missing.push(`${stateName} (${fn}): ${name}`);
    }
    expect(missing).toEqual([]);
  });

  it.each([
    // record-outcome reads the name Step Functions reports for SubmitErasure and CheckStatus failures.
    ['submit-erasure', ['StaleAttemptError', 'RequestNotActiveError', 'SubmissionOutcomeUnknownError']],
    ['check-erasure-status', ['StaleAttemptError', 'RequestNotActiveError']],
  ])('keeps the names the code compares in the %s bundle', (fn, names) => {
    for (const name of names) expect({ name, assigned: assignsName(bundleOf(fn), name) }).toEqual({ name, assigned: true });
  });
});
