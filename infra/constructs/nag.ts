/**
 * cdk-nag 3 acknowledgements. cdk-nag 3 dropped `NagSuppressions`; findings are acknowledged with
 * CDK's own `Validations.of(construct).acknowledge({ id, reason })`, which applies to that
 * construct and its children. Keep the scope narrow (the resource or its role, never the stack)
 * and the reason something a reviewer would accept.
 */
import { Aspects, type CfnElement, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges one AwsSolutions finding (`AwsSolutions-X` or `AwsSolutions-X[finding]`) on the
 * CloudFormation resource of `scope` (itself, or an L2's default child) — never on a subtree.
 * @throws Error when `scope` has no CloudFormation resource of its own.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  const target = CfnResource.isCfnResource(scope) ? scope : scope.node.defaultChild;
  if (!target || !CfnResource.isCfnResource(target)) {
    throw new Error(`${scope.node.path} has no CloudFormation resource to acknowledge ${id} on`);
  }
  Validations.of(target).acknowledge({ id, reason });
}

/** A wildcard IAM finding that is acceptable, with the reason a reviewer reads. */
export interface WildcardAllowance {
  /**
   * Matches the cdk-nag finding inside `AwsSolutions-IAM5[…]`, e.g. `Resource::*`. A predicate is
   * evaluated at synthesis, when logical ids are final (see {@link arnRef}).
   */
  readonly finding: RegExp | ((finding: string) => boolean);
  readonly reason: string;
}

/**
 * Acknowledges AwsSolutions-IAM5 findings on the IAM policies under `scope`, one finding at a
 * time and only those matching an allowance. Policies are completed by grants until synthesis,
 * so the findings are computed by an aspect from the final policy document, exactly as cdk-nag
 * computes them; anything that matches no allowance stays a finding and fails synthesis.
 */
export function acknowledgeWildcards(scope: IConstruct, allowances: readonly WildcardAllowance[]): void {
  const visited = new WeakSet<IConstruct>();
  Aspects.of(scope).add({
    visit(node: IConstruct) {
      if (!(node instanceof iam.CfnPolicy) || visited.has(node)) return;
      visited.add(node);
      const document = Stack.of(node).resolve(node.policyDocument) as { Statement?: PolicyStatementJson[] };
      for (const finding of wildcardFindings(document)) {
        const allowance = allowances.find((a) =>
          typeof a.finding === 'function' ? a.finding(finding) : a.finding.test(finding),
        );
        if (allowance) acknowledge(node, `AwsSolutions-IAM5[${finding}]`, allowance.reason);
      }
    },
  });
}

interface PolicyStatementJson {
  Effect?: string;
  Action?: string | string[];
  Resource?: unknown;
}

/** The IAM5 findings of a resolved policy document, in cdk-nag's `Action::…` / `Resource::…` form. */
export function wildcardFindings(document: { Statement?: PolicyStatementJson[] }): string[] {
  const found = new Set<string>();
  for (const statement of document.Statement ?? []) {
    if (statement.Effect !== 'Allow') continue;
    for (const action of ([] as string[]).concat(statement.Action ?? [])) {
      if (action.includes('*')) found.add(`Action::${action}`);
    }
    for (const resource of ([] as unknown[]).concat(statement.Resource ?? [])) {
      const flat = flattenCfnReference(resource);
      if (flat.includes('*')) found.add(`Resource::${flat}`);
    }
  }
  return [...found];
}

/**
 * How cdk-nag prints `Fn::GetAtt [<resource>, Arn]` of a construct's CloudFormation resource,
 * computed lazily (logical ids are only final at synthesis).
 */
export function arnRef(construct: IConstruct): () => string {
  return () => {
    const element = (construct.node.defaultChild ?? construct) as CfnElement;
    return `<${Stack.of(construct).getLogicalId(element)}.Arn>`;
  };
}

/** A predicate matching exactly `Resource::` + the given lazily computed text. */
export function resourceIs(text: () => string): (finding: string) => boolean {
  return (finding) => finding === `Resource::${text()}`;
}
