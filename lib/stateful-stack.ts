import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type ITable, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import { PK, SK, TTL_ATTRIBUTE } from '../functions/store/keys.js';

/**
 * Where the stateful stack publishes its table: SSM parameters the service stack reads when it deploys. A
 * CloudFormation export would pin the table and its stream (no stack may change an export another imports): with
 * parameters, a replaced stream is a new value, taken by the next deploy of the service stack.
 */
export interface TableReference {
  readonly arnParameter: string;
  readonly streamArnParameter: string;
}

/** The table outlives every deployment of the service: retained, protected, point-in-time recovery. */
export class StatefulStack extends Stack {
  public readonly table: Table;
  public readonly tableReference: TableReference;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: PK, type: AttributeType.STRING },
      sortKey: { name: SK, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      stream: StreamViewType.NEW_AND_OLD_IMAGES,
    });
    this.tableReference = {
      arnParameter: `/${this.stackName}/table-arn`,
      streamArnParameter: `/${this.stackName}/table-stream-arn`,
    };
    new StringParameter(this, 'TableArn', {
      parameterName: this.tableReference.arnParameter,
      stringValue: this.table.tableArn,
    });
    new StringParameter(this, 'TableStreamArn', {
      parameterName: this.tableReference.streamArnParameter,
      stringValue: this.table.tableStreamArn!,
    });
  }
}

/** The table in another stack, by its parameters (resolved at deploy time; nothing exported, nothing pinned). */
export function importTable(scope: Construct, reference: TableReference): ITable {
  return Table.fromTableAttributes(scope, 'Table', {
    tableArn: StringParameter.valueForStringParameter(scope, reference.arnParameter),
    tableStreamArn: StringParameter.valueForStringParameter(scope, reference.streamArnParameter),
  });
}
