import { type Acknowledgment, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/**
 * Acknowledges a rule where a grant's statement lands: on the grantee's principal (a function's role). A principal
 * that is no construct (an account, a service) holds no policy of this stack, so there is nothing to acknowledge.
 */
export function acknowledgeOn(grantee: IGrantable, ...rules: Acknowledgment[]): void {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) Validations.of(principal).acknowledge(...rules);
}
