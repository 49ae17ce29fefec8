/** Where rollouts execute: Step Functions on AWS, the same ASL in-process locally (`local/workflow.ts`). */
import { randomBytes } from 'node:crypto';
import { awsFetch, type AwsClientConfig } from '../aws-fetch.js';

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

const STATES = { signingName: 'states', endpointEnv: 'SFN' } as const;

/**
 * Step Functions through `aws-fetch.ts` (AWS JSON 1.0, as the SDK's client sends it): the client and its protocol
 * code were 23 KB of each bundle that starts or reads executions (P4).
 */
export class StepFunctionsEngine implements WorkflowEngine {
  constructor(
    private readonly stateMachineArn: string,
    /** By default the function's region and credentials, as `new SFNClient({})`. */
    private readonly config: AwsClientConfig = {},
  ) {}

  private async call<T>(operation: string, input: Record<string, unknown>): Promise<T> {
    const res = await awsFetch(STATES, this.config, {
      method: 'POST',
      path: '/',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `AWSStepFunctions.${operation}` },
      body: JSON.stringify(input),
    });
    return (await res.json()) as T;
  }

  executionId(name: string): string {
    // arn:aws:states:<region>:<account>:stateMachine:<machine> → arn:aws:states:<region>:<account>:execution:<machine>:<name>
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }

  async startRollout(ref: { cluster: string; rolloutId: string }, name: string): Promise<string> {
    const input = JSON.stringify(ref);
    const out = await this.call<{ executionArn: string }>('StartExecution', {
      stateMachineArn: this.stateMachineArn,
      name,
      input,
    });
    return out.executionArn;
  }

  async describeExecution(executionArn: string): Promise<ExecutionState | undefined> {
    try {
      // Timestamps in AWS JSON are epoch seconds.
      const out = await this.call<{ status: ExecutionStatus; stopDate?: number }>('DescribeExecution', {
        executionArn,
      });
      return { status: out.status, ...(out.stopDate !== undefined && { stoppedAt: Math.round(out.stopDate * 1000) }) };
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }
}
