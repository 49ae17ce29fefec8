/**
 * What each function may do to the table, as the DynamoDB actions the store's code paths call
 * (`functions/store/dynamo.ts`): no more than that, and never the whole of `grantReadWriteData`.
 */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';

/** Token checks (GetItem), cluster partitions, event and rollout pages (Query), idempotency records (GetItem). */
export const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/**
 * `Store.mutate`: a change, its audit event and the revision bump in one TransactWriteItems, each item authorized as
 * its own action (Put, Update); an idempotent replay's record is a PutItem.
 */
export const TABLE_WRITE = [...TABLE_READ, 'dynamodb:PutItem', 'dynamodb:UpdateItem'] as const;

/**
 * And the changes that carry no audit event (a status report's counters, a rollout's or a window's own record):
 * still conditional on the cluster's revision, through a ConditionCheck item.
 */
export const TABLE_MUTATE = [...TABLE_WRITE, 'dynamodb:ConditionCheckItem'] as const;

export type TableAction = (typeof TABLE_MUTATE)[number] | 'dynamodb:DeleteItem' | 'dynamodb:BatchWriteItem';

/** Exactly these actions on the table itself (it has no index); none (the health family's) grants nothing. */
export function grantTableActions(table: ITable, grantee: IGrantable, actions: readonly TableAction[]): Grant {
  if (actions.length === 0) return Grant.drop(grantee, 'no table actions');
  return Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [table.tableArn] });
}
