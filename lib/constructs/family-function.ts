import { Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LAMBDA_NODE_OPTIONS, lambdaBundling, type FunctionEntry } from '../lambda-bundling.js';

export interface FamilyFunctionProps extends FunctionEntry {
  /** Variables besides the NODE_OPTIONS every function gets. @default none */
  readonly environment?: Record<string, string>;
  /** @default 256 */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** A fixed name, for a function whose ARN must be known before it exists. @default generated */
  readonly functionName?: string;
}

/**
 * A Lambda function bundled by the local esbuild (`lambdaBundling`: minified ESM, the SDK bundled in), arm64,
 * nodejs22.x, with its own log group and a role that may write only to it (no managed policy): every other
 * permission is granted explicitly by the construct that uses the function.
 */
export class FamilyFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: FamilyFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    const role = new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    super(scope, id, {
      entry: props.entry,
      ...(props.functionName && { functionName: props.functionName }),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      logGroup,
      role,
      environment: { NODE_OPTIONS: LAMBDA_NODE_OPTIONS, ...props.environment },
      bundling: lambdaBundling(props),
    });
    logGroup.grantWrite(role);
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x on purpose: the runtime the project ships to and tests on (the node@22 devDependency runs every script, test and benchmark on Node 22); a move to a later runtime moves both together.',
    });
  }
}
