import { CfnResource, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../infra/synth';
import { removeAssemblies, synth, type Synthesized } from './support';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * cdk-nag 3 runs as a CDK validation plugin (registered by createApp, as `cdk synth` does) and
 * reads acknowledgements made with Validations.of(construct).acknowledge({ id, reason }); it no
 * longer emits annotations, so `Annotations.findError(..., /AwsSolutions-/)` would be vacuous.
 * These tests therefore check the plugin's own report, and that every acknowledgement is narrow,
 * justified and still needed.
 */

let synthesized: Synthesized;
let synthError: unknown;

afterAll(removeAssemblies);

beforeAll(() => {
  try {
    synthesized = synth({ nag: true });
  } catch (error) {
    synthError = error;
    synthesized = synth({ nag: false });
  }
});

interface Ack {
  path: string;
  id: string;
  reason: string;
  construct: IConstruct;
}

function acknowledgements(root: IConstruct): Ack[] {
  const found: Ack[] = [];
  const visit = (c: IConstruct) => {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: c.node.path, id: key.replace(/^annotation::/i, ''), reason, construct: c });
      }
    }
    c.node.children.forEach(visit);
  };
  visit(root);
  return found;
}

/** AwsSolutionsChecks that ignores every acknowledgement: what the stack would be flagged for. */
function unacknowledgedChecks(): AwsSolutionsChecks {
  const checks = new AwsSolutionsChecks(undefined);
  // isAcknowledged is private in cdk-nag's typings; replacing it on this instance only.
  (checks as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  return checks;
}

describe('cdk-nag AwsSolutions', () => {
  it('lets the app synthesize with the AwsSolutions plugin registered (as cdk synth does)', () => {
    expect(synthError).toBeUndefined();
  });

  it('reports no unacknowledged finding, error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(synthesized.app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('leaves no CDK error or warning annotation on the stack', () => {
    const annotations = Annotations.fromStack(synthesized.stack);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*'))).toEqual([]);
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
  });

  it('passes as well with every optional feature configured (mail, canary, external issuer, alarm e-mail)', () => {
    const full = synth({
      nag: true,
      context: {
        staffIssuer: 'https://login.example.com',
        staffAudience: 'erasure-desk-staff',
        staffJwksUrl: 'https://login.example.com/jwks.json',
        mailFrom: 'privacy@example.com',
        alarmEmail: 'oncall@example.com',
        canaryBotIds: 'st-canary-1',
        canaryUserId: 'canary@example.com',
      },
    });
    const report = new AwsSolutionsChecks(undefined).validateScope(full.app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('fails synthesis on an unacknowledged finding', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'erasure-desk-nag-'));
    try {
      const { app, stack } = createApp({ bundle: false, cfnValidation: false, outdir });
      new sns.Topic(stack, 'UnencryptedTopic');

      expect(() => app.synth()).toThrowError(/AwsSolutions-SNS(2|3)/);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('acknowledges only AwsSolutions rules, each with a reason a reviewer can check', () => {
    const acks = acknowledgements(synthesized.app);
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect({ path: ack.path, id: ack.id }).toEqual({ path: ack.path, id: expect.stringMatching(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/) });
      expect({ path: ack.path, id: ack.id, words: ack.reason.split(/\s+/).length >= 12 }).toEqual({ path: ack.path, id: ack.id, words: true });
    }
  });

  it('acknowledges on single CloudFormation resources, never on the stack or a construct tree', () => {
    for (const ack of acknowledgements(synthesized.app)) {
      expect({ path: ack.path, resource: CfnResource.isCfnResource(ack.construct) }).toEqual({ path: ack.path, resource: true });
    }
  });

  it('has no stale acknowledgement: each one covers a finding the stack would otherwise have', () => {
    const report = unacknowledgedChecks().validateScope(synthesized.app);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath! })));
    for (const ack of acknowledgements(synthesized.app)) {
      const covered = findings.some((f) => f.rule === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect({ ack: `${ack.id} @ ${ack.path}`, covered }).toEqual({ ack: `${ack.id} @ ${ack.path}`, covered: true });
    }
  });

  it('acknowledges exactly this reviewed list of rules', () => {
    const summary = new Map<string, number>();
    for (const ack of acknowledgements(synthesized.app)) {
      // Logical ids are normalised so the list reads as rules, not as hashes.
      const id = ack.id.replace(/([A-Za-z]+?)[0-9A-F]{8}\b/g, '$1');
      summary.set(id, (summary.get(id) ?? 0) + 1);
    }
    expect(Object.fromEntries([...summary.entries()].sort(([a], [b]) => a.localeCompare(b)))).toEqual(EXPECTED_ACKNOWLEDGEMENTS);
  });
});

/** Every acknowledged finding and how often; a change here needs a reviewer's look. */
const EXPECTED_ACKNOWLEDGEMENTS: Record<string, number> = {
  // public routes (7: pages, stylesheet, receipt key, API description) and the self-authenticating console (3)
  'AwsSolutions-APIG4': 13,
  // customer-managed key of the audit table, for the 9 functions that write items
  'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': 9,
  'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': 9,
  // X-Ray (11 functions + state machine), PutMetricData with a namespace condition, log delivery
  'AwsSolutions-IAM5[Resource::*]': 12,
  // the two GSIs of the one audit table, for every function
  'AwsSolutions-IAM5[Resource::<AuditTable.Arn>/index/*]': 11,
  // checkpoint objects (sign-checkpoints reads and writes; audit-api, ops-api and the console read)
  'AwsSolutions-IAM5[Resource::<CheckpointsBucket.Arn>/checkpoints/*]': 4,
  // state machine role: versions/aliases of its three task functions
  'AwsSolutions-IAM5[Resource::<FunctionsCheckErasureStatus.Arn>:*]': 1,
  'AwsSolutions-IAM5[Resource::<FunctionsRecordOutcome.Arn>:*]': 1,
  'AwsSolutions-IAM5[Resource::<FunctionsSubmitErasure.Arn>:*]': 1,
  // executions of the erasure state machine (public-api, ops-api, console, sweep-requests)
  'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:{"Fn::Select":[6,{"Fn::Split":[":",{"Ref":"ErasureWorkflowStateMachine"}]}]}:*]': 4,
  // Node.js 22 pinned by design (11 functions without the canary)
  'AwsSolutions-L1': 11,
  // the state machine logs errors without execution data: ALL would log personal data
  'AwsSolutions-SF1': 1,
  // Kore.ai credentials (rotated at Kore.ai), app secret (HMAC key), two one-time seeds
  'AwsSolutions-SMG4': 4,
};
