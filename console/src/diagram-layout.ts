/**
 * Where each state of a workflow graph is drawn: rows by the longest path from the initial state (self-loops
 * and edges back up ignored), so the flow reads top to bottom and the final states sit at the end.
 */
import type { WorkflowGraph } from './workflow-types.js';

export interface Placed {
  name: string;
  row: number;
  column: number;
}

export function layout(graph: WorkflowGraph): { placed: Map<string, Placed>; rows: number; columns: number } {
  const forward = new Map<string, string[]>(graph.states.map((s) => [s.name, []]));
  // Depth-first from the initial state: an edge to a state on the current path goes back up (a loop).
  const onPath = new Set<string>();
  const seen = new Set<string>();
  const visit = (name: string) => {
    onPath.add(name);
    seen.add(name);
    for (const e of graph.edges.filter((x) => x.from === name && x.to !== name)) {
      if (onPath.has(e.to)) continue;
      if (!forward.get(name)!.includes(e.to)) forward.get(name)!.push(e.to);
      if (!seen.has(e.to)) visit(e.to);
    }
    onPath.delete(name);
  };
  visit(graph.initial);

  const rowOf = new Map<string, number>();
  const longest = (name: string): number => {
    const known = rowOf.get(name);
    if (known !== undefined) return known;
    const parents = [...forward].filter(([, to]) => to.includes(name)).map(([from]) => from);
    const row = parents.length === 0 ? 0 : Math.max(...parents.map(longest)) + 1;
    rowOf.set(name, row);
    return row;
  };
  const placed = new Map<string, Placed>();
  const perRow = new Map<number, number>();
  for (const s of graph.states) {
    const row = longest(s.name);
    const column = perRow.get(row) ?? 0;
    perRow.set(row, column + 1);
    placed.set(s.name, { name: s.name, row, column });
  }
  return { placed, rows: Math.max(...rowOf.values()) + 1, columns: Math.max(...perRow.values()) };
}

/** The node machine's state for a rollout record's step: `wait-drained` is `WaitDrained`; `pending` (not started) has none. */
export function stateOfStep(graph: WorkflowGraph, step: string): string | undefined {
  const name = step.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
  return graph.states.some((s) => s.name === name) ? name : undefined;
}

/**
 * The rollout machine's state for a rollout's status: a finished rollout's final state has its status's name
 * (`succeeded` is `Succeeded`); one still going is running its batches (the state that runs nodes).
 */
export function stateOfStatus(graph: WorkflowGraph, status: string): string | undefined {
  const final = graph.states.find((s) => s.kind === 'final' && s.name.toLowerCase() === status);
  return final?.name ?? graph.states.find((s) => s.runsNodes)?.name;
}
