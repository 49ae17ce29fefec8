/**
 * A workflow's states drawn as SVG from the graph derived from the XState machine: task and polling states,
 * their transitions (a task's errors, which every task has, are named in the caption instead of drawn), the
 * current state highlighted, and the servers now in each state listed on it.
 */
import { layout } from '../diagram-layout.js';
import type { WorkflowGraph } from '../workflow-types.js';

const W = 150;
const H = 40;
const GAP_X = 24;
const GAP_Y = 30;
const PAD = 12;

interface Props {
  graph: WorkflowGraph;
  title: string;
  /** States to highlight, each with the servers in it (empty for the rollout itself). */
  current: Map<string, string[]>;
  /** More to say in the caption. */
  note?: string;
}

export function WorkflowDiagram({ graph, title, current, note }: Props) {
  const { placed, rows, columns } = layout(graph);
  const width = columns * W + (columns - 1) * GAP_X + 2 * PAD;
  const height = rows * H + (rows - 1) * GAP_Y + 2 * PAD;
  const perRow = (row: number) => [...placed.values()].filter((p) => p.row === row).length;
  // Each row is centred.
  const box = (name: string) => {
    const p = placed.get(name)!;
    const offset = ((columns - perRow(p.row)) * (W + GAP_X)) / 2;
    return { x: PAD + offset + p.column * (W + GAP_X), y: PAD + p.row * (H + GAP_Y) };
  };
  const highlighted = [...current.keys()];
  const description = highlighted.length
    ? `Now in: ${[...current].map(([state, servers]) => (servers.length ? `${state} (${servers.join(', ')})` : state)).join('; ')}.`
    : 'Not started.';
  const catchers = [...new Set(graph.edges.filter((e) => e.kind === 'error').map((e) => e.to))];
  return (
    <figure class="diagram">
      <figcaption>
        {title}. <span data-testid={`${graph.id}-now`}>{description}</span>
        {note && ` ${note}`}
        <br />
        <span class="muted">↻ polls until its check passes; a step's error leads to {catchers.join(' or ')}.</span>
      </figcaption>
      <svg
        viewBox={`0 0 ${width} ${height}`}
        role="img"
        aria-label={`${title}: states of the ${graph.id} workflow. ${description}`}
      >
        <defs>
          <marker
            id={`arrow-${graph.id}`}
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="6"
            markerHeight="6"
            orient="auto-start-reverse"
          >
            <path d="M0 0L10 5L0 10z" fill="currentColor" />
          </marker>
        </defs>
        {graph.edges
          .filter((e) => e.from !== e.to && e.kind !== 'error')
          .map((e) => {
            const a = box(e.from);
            const b = box(e.to);
            const up = b.y <= a.y;
            const x1 = a.x + W / 2;
            const y1 = up ? a.y : a.y + H;
            const x2 = b.x + W / 2;
            const y2 = up ? b.y + H : b.y;
            const d = up
              ? `M${x1 + W / 2} ${a.y + H / 2} C ${x1 + W} ${a.y}, ${x2 + W} ${b.y + H}, ${x2 + W / 2} ${b.y + H / 2}`
              : `M${x1} ${y1} L${x2} ${y2}`;
            return (
              <path
                key={`${e.from}-${e.to}-${e.kind}`}
                d={d}
                class={`edge edge-${e.kind}`}
                marker-end={`url(#arrow-${graph.id})`}
                fill="none"
              />
            );
          })}
        {graph.states.map((s) => {
          const { x, y } = box(s.name);
          const servers = current.get(s.name);
          const polls = graph.edges.some((e) => e.from === s.name && e.to === s.name);
          return (
            <g
              key={s.name}
              class={`state state-${s.kind}${s.failure ? ' state-failure' : ''}${servers ? ' state-current' : ''}`}
              data-state={s.name}
              data-current={servers ? 'true' : undefined}
            >
              <rect x={x} y={y} width={W} height={H} rx={s.kind === 'final' ? 20 : 6} />
              <text x={x + W / 2} y={servers?.length ? y + 16 : y + H / 2 + 5} text-anchor="middle">
                {s.name}
                {polls ? ' ↻' : ''}
              </text>
              {servers && servers.length > 0 && (
                <text x={x + W / 2} y={y + 32} text-anchor="middle" class="servers">
                  {servers.join(', ')}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
