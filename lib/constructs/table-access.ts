/**
 * What each function may do to the table, as the DynamoDB actions the store's code paths call
 * (`functions/store/dynamo.ts`): no more than that, and never the whole of `grantReadWriteData`.
 */
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';

/** Token checks (GetItem), cluster partitions, event and rollout pages (Query), idempotency records (GetItem). */
export const TABLE_READ = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/**
 * `Store.mutate` and routine reports: one TransactWriteItems of Puts, Updates and a ConditionCheck (a change
 * without events), each authorized as its own action; an idempotent replay is a PutItem; a report an UpdateItem.
 */
export const TABLE_MUTATE = [...TABLE_READ, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'] as const;

export type TableAction = (typeof TABLE_MUTATE)[number] | 'dynamodb:DeleteItem' | 'dynamodb:BatchWriteItem';

/** Exactly these actions on the table itself (it has no index). */
export function grantTableActions(table: ITable, grantee: IGrantable, actions: readonly TableAction[]): void {
  if (actions.length === 0) return;
  Grant.addToPrincipal({ grantee, actions: [...actions], resourceArns: [table.tableArn] });
}
