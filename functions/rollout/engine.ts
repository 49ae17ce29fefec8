/** Where rollouts execute: Step Functions on AWS, the same ASL in-process locally (`local/workflow.ts`). */
import { randomBytes } from 'node:crypto';
import { DescribeExecutionCommand, ExecutionDoesNotExist, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';

export interface ExecutionState {
  status: ExecutionStatus;
  /** When it ended (epoch ms), once it has. */
  stoppedAt?: number;
}

export interface WorkflowEngine {
  /**
   * The id (ARN) an execution started under this name will have: the rollout records it before the start, so that
   * the execution's Preflight finds itself already chosen and no other execution can claim the rollout.
   */
  executionId(name: string): string;
  /** Starts an execution of the rollout state machine for this rollout, under this name (a repeat is a no-op). */
  startRollout(ref: { cluster: string; rolloutId: string }, name: string): Promise<string>;
  /** Undefined for an execution the engine does not know. */
  describeExecution(executionId: string): Promise<ExecutionState | undefined>;
}

/** Execution names: unique per start (the time and a random part), ≤ 80 characters. */
export const executionName = (rolloutId: string, now: number) =>
  `${rolloutId}-${now.toString(36)}-${randomBytes(2).toString('hex')}`.slice(0, 80);

export class StepFunctionsEngine implements WorkflowEngine {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  executionId(name: string): string {
    // arn:aws:states:<region>:<account>:stateMachine:<machine> → arn:aws:states:<region>:<account>:execution:<machine>:<name>
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }

  async startRollout(ref: { cluster: string; rolloutId: string }, name: string): Promise<string> {
    const out = await this.client.send(
      new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(ref) }),
    );
    return out.executionArn!;
  }

  async describeExecution(executionArn: string): Promise<ExecutionState | undefined> {
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn }));
      return { status: out.status!, ...(out.stopDate && { stoppedAt: out.stopDate.getTime() }) };
    } catch (error) {
      if (error instanceof ExecutionDoesNotExist) return undefined;
      throw error;
    }
  }
}
