/**
 * The workflow drawing's data, taken from the XState machine objects themselves (workflows/machines.ts) when
 * the console is built, so the console cannot drift from the model: every state, and every transition by kind.
 */
import type { AnyStateMachine } from 'xstate';
import type { GraphEdge, GraphState, WorkflowGraph } from '../src/workflow-types.js';

const DONE = 'xstate.done.actor.';
const ERROR = 'xstate.error.actor.';

interface StateMeta {
  poll?: unknown;
  task?: { kind?: string };
  final?: { error?: string; errorFromState?: boolean };
}

function kindOf(type: string): GraphEdge['kind'] {
  if (type.startsWith(DONE)) return 'done';
  if (type.startsWith(ERROR)) return 'error';
  return 'poll';
}

export function workflowGraph(machine: AnyStateMachine): WorkflowGraph {
  const root = machine.root;
  const states: GraphState[] = [];
  const edges = new Map<string, GraphEdge>();
  for (const [name, node] of Object.entries(root.states)) {
    const meta = (node.meta ?? {}) as StateMeta;
    const final = node.type === 'final';
    states.push({
      name,
      kind: final ? 'final' : meta.poll ? 'poll' : 'task',
      ...(meta.task?.kind === 'run-nodes' && { runsNodes: true }),
      ...(final && meta.final && { failure: true }),
    });
    for (const [type, definitions] of node.transitions) {
      for (const definition of definitions) {
        const outcome = (definition.guard as { params?: { outcome?: string } } | undefined)?.params?.outcome;
        for (const target of definition.target ?? []) {
          const kind = kindOf(type);
          const key = `${name}>${target.key}>${kind}`;
          const edge = edges.get(key) ?? { from: name, to: target.key, kind, labels: [] };
          if (outcome && !edge.labels.includes(outcome)) edge.labels.push(outcome);
          edges.set(key, edge);
        }
      }
    }
  }
  const initial = root.initial?.target?.[0]?.key;
  if (!initial) throw new Error(`machine ${machine.id} has no initial state`);
  return { id: machine.id, initial, states, edges: [...edges.values()] };
}
