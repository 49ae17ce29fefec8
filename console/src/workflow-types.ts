/** The shape of a workflow drawing's data (derived from the XState machines at build time). */
export interface GraphState {
  name: string;
  /** A task, a polling state (Wait → Check → Choice in the ASL), or a final state. */
  kind: 'task' | 'poll' | 'final';
  /** The state that runs a batch of nodes (the rollout machine's Map). */
  runsNodes?: boolean;
  /** A final state that fails the execution. */
  failure?: boolean;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** A task's answer, its error, or a poll that checks again. */
  kind: 'done' | 'error' | 'poll';
  /** The task outcomes that take this edge (empty: any). */
  labels: string[];
}

export interface WorkflowGraph {
  id: string;
  initial: string;
  states: GraphState[];
  edges: GraphEdge[];
}
