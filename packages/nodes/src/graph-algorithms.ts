/** Graph algorithms shared by the validator, canConnect and the executor (browser-safe, no deps). */

export interface Arc {
  source: string;
  target: string;
}

function adjacency(nodeIds: readonly string[], arcs: readonly Arc[]): Map<string, string[]> {
  const out = new Map<string, string[]>(nodeIds.map((id) => [id, []]));
  for (const a of arcs) out.get(a.source)?.push(a.target);
  return out;
}

/** True when `to` can be reached from `from` by following arcs (from === to counts). */
export function canReach(arcs: readonly Arc[], from: string, to: string): boolean {
  const seen = new Set<string>([from]);
  const stack = [from];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (id === to) return true;
    for (const a of arcs) {
      if (a.source === id && !seen.has(a.target)) {
        seen.add(a.target);
        stack.push(a.target);
      }
    }
  }
  return false;
}

/**
 * One cycle per strongly connected component that has more than one node, as node ids in edge order
 * (the last one points back to the first). Self-loops are the caller's business (reported separately).
 * Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
 */
export function findCycles(nodeIds: readonly string[], arcs: readonly Arc[]): string[][] {
  const adj = adjacency(nodeIds, arcs.filter((a) => a.source !== a.target));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;

  for (const root of nodeIds) {
    if (index.has(root)) continue;
    const work: { id: string; next: number }[] = [{ id: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1] as { id: string; next: number };
      const succ = adj.get(frame.id) ?? [];
      if (frame.next < succ.length) {
        const w = succ[frame.next++] as string;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ id: w, next: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.id, Math.min(low.get(frame.id) as number, index.get(w) as number));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id) as number, low.get(frame.id) as number));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.id);
        if (component.length > 1) components.push(component);
      }
    }
  }
  return components.map((c) => cycleWithin(new Set(c), adj, nodeIds));
}

/** A concrete cycle inside a strongly connected component, starting at its first node in graph order. */
function cycleWithin(members: Set<string>, adj: Map<string, string[]>, order: readonly string[]): string[] {
  const start = order.find((id) => members.has(id)) as string;
  // BFS from start's successors back to start, staying inside the component: shortest cycle through start.
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift() as string;
    for (const w of adj.get(id) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [id];
        while (path[0] !== start) path.unshift(prev.get(path[0] as string) as string);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, id);
        queue.push(w);
      }
    }
  }
  return [...members];
}

/**
 * Topological order: repeatedly take the ready set (nodes whose predecessors are all done),
 * in graph order so runs are deterministic. Nodes on a cycle are left out.
 */
export function topologicalOrder(nodeIds: readonly string[], arcs: readonly Arc[]): string[] {
  const indegree = new Map<string, number>(nodeIds.map((id) => [id, 0]));
  for (const a of arcs) if (indegree.has(a.source) && indegree.has(a.target)) indegree.set(a.target, (indegree.get(a.target) ?? 0) + 1);
  const done: string[] = [];
  const remaining = new Set(nodeIds);
  for (;;) {
    const ready = nodeIds.filter((id) => remaining.has(id) && indegree.get(id) === 0);
    if (ready.length === 0) return done;
    for (const id of ready) {
      remaining.delete(id);
      done.push(id);
      for (const a of arcs) if (a.source === id && remaining.has(a.target)) indegree.set(a.target, (indegree.get(a.target) ?? 0) - 1);
    }
  }
}
