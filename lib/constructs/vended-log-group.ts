import { RemovalPolicy } from 'aws-cdk-lib';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * A log group that AWS services deliver to (Step Functions, API Gateway's access logs), named under
 * `/aws/vendedlogs/`: CloudWatch Logs then needs no entry in the account-wide resource policy (at most 10 per region,
 * 5,120 characters each) that a service adds for each group it delivers to otherwise. A fixed name must not outlive
 * its stack (a redeploy would find it taken): it goes with the stack.
 */
export function vendedLogGroup(scope: Construct, id: string, name: string, retention: RetentionDays): LogGroup {
  return new LogGroup(scope, id, {
    logGroupName: `/aws/vendedlogs/${name}`,
    retention,
    removalPolicy: RemovalPolicy.DESTROY,
  });
}
