/**
 * The synthesized template passes cfn-lint (AWS CloudFormation Linter) without errors: it checks
 * what CDK's own validation does not (property values, resource specification, intrinsic use).
 * Where the `cfn-lint` command is missing (`pip install cfn-lint`, or Debian's `cfn-lint`
 * package) the test is skipped and says so loudly; it is never passed without running.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synthesizeTemplate } from '../../infra/synth';

const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const available = probe.error === undefined && probe.status === 0;
if (!available) {
  console.warn(
    '\n*** cfn-lint is NOT installed: the CloudFormation template is NOT linted and test/infra/cfn-lint.test.ts is SKIPPED. ***\n' +
      '*** Install the `cfn-lint` command (pip install cfn-lint, or apt-get install cfn-lint) to run it. ***\n',
  );
}

const dir = mkdtempSync(join(tmpdir(), 'erasure-desk-cfn-lint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Match {
  Level: string;
  Rule: { Id: string };
  Message: string;
  Location?: { Path?: unknown[] };
}

/** cfn-lint's findings for one template (JSON output; its exit code only says which levels occurred). */
function lint(template: unknown, name: string): Match[] {
  const file = join(dir, `${name}.template.json`);
  writeFileSync(file, JSON.stringify(template, null, 1));
  const run = spawnSync('cfn-lint', ['--format', 'json', '--', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.error) throw run.error;
  try {
    return JSON.parse(run.stdout || '[]') as Match[];
  } catch {
    throw new Error(`cfn-lint did not answer JSON (exit ${run.status}): ${run.stderr.slice(0, 2000)}`);
  }
}

describe('cfn-lint', () => {
  it.skipIf(!available).each([
    ['default', {}],
    [
      'fully configured',
      {
        mailFrom: 'privacy@example.com',
        alarmEmail: 'oncall@example.com',
        canaryBotIds: 'st-canary-1',
        canaryUserId: 'canary@example.com',
        staffIssuer: 'https://login.example.com',
        staffAudience: 'erasure-desk-staff',
        staffJwksUrl: 'https://login.example.com/jwks.json',
        reserveConcurrency: 'true',
        checkpointLockMode: 'GOVERNANCE',
      },
    ],
  ])('finds no error in the %s template', (name, context) => {
    const errors = lint(synthesizeTemplate({ context }), name.replace(/\s+/g, '-'))
      .filter((m) => m.Level === 'Error')
      .map((m) => `${m.Rule.Id} ${JSON.stringify(m.Location?.Path ?? [])}: ${m.Message}`);

    expect(errors).toEqual([]);
  });
});
