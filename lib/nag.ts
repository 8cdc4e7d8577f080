/**
 * cdk-nag acknowledgements. Each names one finding, on the narrowest
 * construct that carries it, with the reason it is accepted. A finding id for
 * a wildcard resource (`AwsSolutions-IAM5[Resource::...]`) spells the ARN the
 * way cdk-nag flattens it, so it is computed from the same ARN token here.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
// The flattening cdk-nag applies to a resource before it names a finding (cdk-nag is pinned exactly).
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';

/** Acknowledge a cdk-nag finding on `scope` and everything under it. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** The IAM5 finding id of a resource ARN: a token, a string, or an already resolved intrinsic. */
export function wildcardResourceFinding(scope: IConstruct, arn: unknown): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(arn))}]`;
}

/** The IAM5 finding id of a wildcard action. */
export const wildcardActionFinding = (action: string): string => `AwsSolutions-IAM5[Action::${action}]`;
