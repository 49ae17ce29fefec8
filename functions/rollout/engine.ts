/** Where rollouts execute: Step Functions on AWS, the same ASL in-process locally (`local/workflow.ts`). */
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface WorkflowEngine {
  /** Starts an execution of the rollout state machine for this rollout; answers its id (ARN). */
  startRollout(ref: { cluster: string; rolloutId: string }): Promise<string>;
  /** Undefined for an execution the engine does not know. */
  executionStatus(executionId: string): Promise<ExecutionStatus | undefined>;
}

/** Execution names: unique per start, ≤ 80 characters. */
export const executionName = (rolloutId: string, now: number) => `${rolloutId}-${now.toString(36)}`.slice(0, 80);

export class StepFunctionsEngine implements WorkflowEngine {
  constructor(private readonly client: SFNClient, private readonly stateMachineArn: string) {}

  async startRollout(ref: { cluster: string; rolloutId: string }): Promise<string> {
    const out = await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name: executionName(ref.rolloutId, Date.now()), input: JSON.stringify(ref) }));
    return out.executionArn!;
  }

  async executionStatus(executionArn: string): Promise<ExecutionStatus | undefined> {
    try {
      return (await this.client.send(new DescribeExecutionCommand({ executionArn }))).status;
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) return undefined;
      throw error;
    }
  }
}
