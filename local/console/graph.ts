/**
 * The state machine's graph for the console, laid out by dagre (a maintained Sugiyama-style layout library) from the
 * ASL file itself, so the picture cannot drift from the definition. Edges carry their kind — `next`, `choice`,
 * `default`, `catch` (labelled with the errors it catches) — and every node lists its Retry rules, so retries and
 * catches are visible without opening the JSON.
 */
import { Graph, layout } from '@dagrejs/dagre';

interface AslRetry {
  ErrorEquals: string[];
  MaxAttempts?: number;
}
interface AslCatch {
  ErrorEquals: string[];
  Next: string;
}
interface AslState {
  Type: string;
  Comment?: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: Array<{ Next: string; Variable?: string }>;
  Retry?: AslRetry[];
  Catch?: AslCatch[];
}
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
}

export type EdgeKind = 'next' | 'choice' | 'default' | 'catch';

export interface GraphNode {
  id: string;
  type: string;
  comment: string | undefined;
  /** "errors × attempts" per Retry rule, in order. */
  retries: string[];
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: EdgeKind;
  label: string;
  points: Array<{ x: number; y: number }>;
}

export interface StateGraph {
  startAt: string;
  width: number;
  height: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** ASL error names are long; an edge label lists the first two and how many more, the node's tooltip has all. */
function errorsLabel(errors: string[]): string {
  const shown = errors.slice(0, 2).join(', ');
  return errors.length > 2 ? `${shown} +${errors.length - 2}` : shown;
}

function edgesOf(name: string, state: AslState): Array<Omit<GraphEdge, 'points'>> {
  const out: Array<Omit<GraphEdge, 'points'>> = [];
  if (state.Next) out.push({ from: name, to: state.Next, kind: 'next', label: '' });
  state.Choices?.forEach((choice, i) => {
    out.push({ from: name, to: choice.Next, kind: 'choice', label: `rule ${i + 1}` });
  });
  if (state.Default) out.push({ from: name, to: state.Default, kind: 'default', label: 'default' });
  for (const c of state.Catch ?? []) {
    out.push({ from: name, to: c.Next, kind: 'catch', label: `catch ${errorsLabel(c.ErrorEquals)}` });
  }
  return out;
}

const CHAR_WIDTH = 7.2;

export function layoutStateMachine(definition: AslDefinition): StateGraph {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 40, edgesep: 10, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  const nodes = new Map<string, Omit<GraphNode, 'x' | 'y'>>();
  for (const [name, state] of Object.entries(definition.States)) {
    const retries = (state.Retry ?? []).map((r) => `${errorsLabel(r.ErrorEquals)} × ${r.MaxAttempts ?? 3}`);
    const width = Math.max(104, Math.ceil(name.length * CHAR_WIDTH) + 20);
    const height = retries.length > 0 ? 46 : 34;
    nodes.set(name, { id: name, type: state.Type, comment: state.Comment, retries, width, height });
    g.setNode(name, { width, height });
  }
  const edges = Object.entries(definition.States).flatMap(([name, state]) => edgesOf(name, state));
  edges.forEach((e, i) => {
    if (!nodes.has(e.to))
      throw new Error(`State ${e.from} points at ${e.to}, which the definition does not have`);
    // Only choice labels take room in the layout; a catch's errors are in its tooltip, or every catch edge would
    // widen the picture by its label.
    const label =
      e.label && e.kind !== 'catch'
        ? { width: Math.ceil(e.label.length * 6.2), height: 14, labelpos: 'c' }
        : {};
    // Catch edges still count for ranking (CleanUp must sit below the states it rescues) but weigh less.
    g.setEdge(e.from, e.to, { ...label, weight: e.kind === 'catch' ? 1 : 4, minlen: 1 }, String(i));
  });
  layout(g);
  const graph = g.graph();
  return {
    startAt: definition.StartAt,
    width: Math.ceil(graph.width ?? 0),
    height: Math.ceil(graph.height ?? 0),
    nodes: [...nodes.values()].map((n) => {
      const placed = g.node(n.id);
      return { ...n, x: placed.x, y: placed.y };
    }),
    edges: edges.map((e, i) => ({
      ...e,
      points: (g.edge(e.from, e.to, String(i))?.points ?? []).map((p: { x: number; y: number }) => ({
        x: p.x,
        y: p.y,
      })),
    })),
  };
}
