import type { z } from 'zod';
import type { NodeDefinition } from './definition.ts';
import { nodeDefinitions } from './nodes/index.ts';
import { type GraphError, type GraphErrorCode, nodeName } from './errors.ts';
import { type GraphEdge, type GraphNode, type PipelineGraph, PipelineGraphSchema } from './graph.ts';
import { findCycles } from './graph-algorithms.ts';
import { describeParamIssues } from './param-messages.ts';

export interface ValidationResult {
  ok: boolean;
  /** The parsed graph, present only when ok. */
  graph?: PipelineGraph;
  /** Every problem found, not just the first. Empty when ok. */
  errors: GraphError[];
}

/**
 * Checks a graph completely and reports every problem at once, each with a machine code
 * and a message naming the node. The editor runs it live, the web API and runner before queuing.
 */
export function validateGraph(graph: unknown, definitions: readonly NodeDefinition[] = nodeDefinitions): ValidationResult {
  const shapeErrors = checkShape(graph);
  if (shapeErrors.length > 0) return { ok: false, errors: shapeErrors };
  const parsed = PipelineGraphSchema.parse(graph);
  const errors = checkSemantics(parsed, definitions);
  return errors.length === 0 ? { ok: true, graph: parsed, errors } : { ok: false, errors };
}

/** Shape and version problems (zod path in `field`); empty when the graph matches PipelineGraph v1. */
export function checkShape(graph: unknown): GraphError[] {
  if (graph === null || typeof graph !== 'object' || Array.isArray(graph)) {
    return [{ code: 'invalid_graph', message: 'A pipeline graph must be an object with "version", "nodes" and "edges".' }];
  }
  const version = (graph as { version?: unknown }).version;
  if (version !== 1) {
    const message =
      version === undefined
        ? 'The graph has no "version" (expected "version": 1).'
        : `Unsupported graph version ${JSON.stringify(version)}: this defectflow reads version 1 graphs.`;
    return [{ code: 'invalid_graph', field: 'version', message }];
  }
  const result = PipelineGraphSchema.safeParse(graph);
  if (result.success) return [];
  const rawNodes = (graph as { nodes?: unknown }).nodes;
  const rawEdges = (graph as { edges?: unknown }).edges;
  return result.error.issues.map((issue) => {
    const field = issue.path.map(String).join('.');
    const error: GraphError = { code: shapeCode(issue), field, message: `Graph field "${field}": ${issue.message}.` };
    if (error.code === 'graph_too_large' && issue.path.length === 1) {
      const count = (graph as Record<string, unknown[]>)[field]?.length;
      error.message = `The graph has ${count} ${field}: ${issue.message}.`;
    }
    // Name the node when the problem sits inside one that has a readable id.
    if (issue.path[0] === 'nodes' && typeof issue.path[1] === 'number' && Array.isArray(rawNodes)) {
      const id = (rawNodes[issue.path[1]] as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && id.length > 0) error.nodeId = id;
    }
    if (issue.path[0] === 'edges' && typeof issue.path[1] === 'number' && Array.isArray(rawEdges)) {
      const id = (rawEdges[issue.path[1]] as { id?: unknown } | undefined)?.id;
      if (typeof id === 'string' && id.length > 0) error.edgeId = id;
    }
    return error;
  });
}

/** Unsafe ids and size limits get their own codes; every other shape problem is invalid_graph. */
function shapeCode(issue: z.core.$ZodIssue): GraphErrorCode {
  if (issue.code === 'custom' && issue.params?.graphCode === 'invalid_id') return 'invalid_id';
  if (issue.code === 'too_big') return 'graph_too_large';
  return 'invalid_graph';
}

function checkSemantics(graph: PipelineGraph, definitions: readonly NodeDefinition[]): GraphError[] {
  if (graph.nodes.length === 0) {
    return [{ code: 'empty_graph', message: 'The pipeline is empty: add a Dataset node and build from there.' }];
  }
  const errors: GraphError[] = [];
  const byId = new Map<string, GraphNode>();
  const defs = new Map<string, NodeDefinition>();

  for (const node of graph.nodes) {
    const first = byId.get(node.id);
    if (first) {
      errors.push({
        code: 'duplicate_node_id',
        nodeId: node.id,
        message: `Node id "${node.id}" is used twice (${nodeName(first)} and ${nodeName(node)}); ids must be unique.`,
      });
      continue;
    }
    byId.set(node.id, node);
    const def = definitions.find((d) => d.type === node.type);
    if (!def) {
      errors.push({
        code: 'unknown_node_type',
        nodeId: node.id,
        message: `${nodeName(node)} has unknown type "${node.type}". Known types: ${definitions.map((d) => d.type).join(', ')}.`,
      });
      continue;
    }
    defs.set(node.id, def);
    errors.push(...checkParams(node, def.params));
  }

  errors.push(...checkEdges(graph.edges, byId, defs));
  errors.push(...checkFrozenOnly(graph, byId));

  for (const node of byId.values()) {
    const def = defs.get(node.id);
    for (const input of def?.inputs ?? []) {
      if (input.optional) continue;
      const connected = graph.edges.some((e) => e.target === node.id && e.targetHandle === input.name);
      if (!connected) {
        errors.push({
          code: 'required_input_missing',
          nodeId: node.id,
          port: input.name,
          message: `${nodeName(node)} needs its "${input.name}" input (${input.type}) connected.`,
        });
      }
    }
  }

  const arcs = graph.edges.filter((e) => byId.has(e.source) && byId.has(e.target) && e.source !== e.target);
  for (const cycle of findCycles([...byId.keys()], arcs)) {
    const names = cycle.map((id) => nodeName(byId.get(id) as GraphNode));
    errors.push({
      code: 'cycle',
      nodeId: cycle[0],
      nodeIds: cycle,
      message: `Cycle: ${[...names, names[0]].join(' → ')}. A pipeline must flow one way.`,
    });
  }

  if (![...defs.values()].some((d) => d.terminal)) {
    const terminals = definitions.filter((d) => d.terminal).map((d) => d.title);
    errors.push({
      code: 'no_terminal_node',
      message: `The pipeline has no ${terminals.join(', ').replace(/, ([^,]*)$/, ' or $1')} node, so running it would produce nothing.`,
    });
  }
  return errors;
}

/**
 * An imported ONNX backbone runs in ONNX Runtime and none of it can be trained: a Freeze node fed by
 * one must freeze everything (mode "all"), said here rather than when the run reaches it.
 */
function checkFrozenOnly(graph: PipelineGraph, byId: Map<string, GraphNode>): GraphError[] {
  const errors: GraphError[] = [];
  for (const node of byId.values()) {
    if (node.type !== 'freeze') continue;
    const mode = (node.params as { mode?: unknown }).mode ?? 'all';
    if (mode === 'all') continue;
    const edge = graph.edges.find((e) => e.target === node.id && e.targetHandle === 'backbone');
    const source = edge ? byId.get(edge.source) : undefined;
    if (source?.type !== 'backbone' || (source.params as { source?: unknown }).source !== 'onnx') continue;
    errors.push({
      code: 'param_invalid',
      nodeId: node.id,
      field: 'mode',
      message: `${nodeName(node)}: mode "${String(mode)}" fine-tunes backbone layers, but ${nodeName(source)} is an imported ONNX graph, which is frozen-only; use mode "all".`,
    });
  }
  return errors;
}

function checkParams(node: GraphNode, schema: z.ZodType): GraphError[] {
  const result = schema.safeParse(node.params);
  if (result.success) return [];
  return describeParamIssues(schema, node.params, result.error).map((p) => ({
    code: 'param_invalid' as const,
    nodeId: node.id,
    field: p.field,
    message: `${nodeName(node)}: ${p.text}`,
  }));
}

function checkEdges(
  edges: readonly GraphEdge[],
  byId: Map<string, GraphNode>,
  defs: Map<string, NodeDefinition>,
): GraphError[] {
  const errors: GraphError[] = [];
  const seenEdgeIds = new Set<string>();
  const intoInput = new Map<string, GraphEdge>();

  for (const edge of edges) {
    if (seenEdgeIds.has(edge.id)) {
      errors.push({ code: 'duplicate_edge_id', edgeId: edge.id, message: `Edge id "${edge.id}" is used twice; ids must be unique.` });
    }
    seenEdgeIds.add(edge.id);

    const source = byId.get(edge.source);
    const target = byId.get(edge.target);
    if (!source || !target) {
      for (const [end, id] of [
        ['comes from', edge.source],
        ['goes to', edge.target],
      ] as const) {
        if (byId.has(id)) continue;
        const other = end === 'comes from' ? target : source;
        errors.push({
          code: 'dangling_edge',
          edgeId: edge.id,
          ...(other ? { nodeId: other.id } : {}),
          message: `Edge "${edge.id}" ${end} node "${id}", which does not exist.`,
        });
      }
      continue;
    }
    if (source.id === target.id) {
      errors.push({
        code: 'self_loop',
        edgeId: edge.id,
        nodeId: source.id,
        message: `Edge "${edge.id}" connects ${nodeName(source)} to itself.`,
      });
      continue;
    }

    const sourceDef = defs.get(source.id);
    const targetDef = defs.get(target.id);
    const out = sourceDef?.outputs.find((p) => p.name === edge.sourceHandle);
    const inp = targetDef?.inputs.find((p) => p.name === edge.targetHandle);
    if (sourceDef && !out) {
      errors.push({
        code: 'unknown_port',
        edgeId: edge.id,
        nodeId: source.id,
        port: edge.sourceHandle,
        message: `Edge "${edge.id}": ${nodeName(source)} has no output "${edge.sourceHandle}" (outputs: ${listPorts(sourceDef.outputs)}).`,
      });
    }
    if (targetDef && !inp) {
      errors.push({
        code: 'unknown_port',
        edgeId: edge.id,
        nodeId: target.id,
        port: edge.targetHandle,
        message: `Edge "${edge.id}": ${nodeName(target)} has no input "${edge.targetHandle}" (inputs: ${listPorts(targetDef.inputs)}).`,
      });
    }
    if (out && inp && out.type !== inp.type) {
      errors.push({
        code: 'port_type_mismatch',
        edgeId: edge.id,
        nodeId: target.id,
        port: inp.name,
        message: `${nodeName(target)} input "${inp.name}" takes ${inp.type}, but edge "${edge.id}" brings ${out.type} from ${nodeName(source)}.`,
      });
    }
    if (inp) {
      const key = `${target.id}\u0000${inp.name}`;
      const first = intoInput.get(key);
      if (first) {
        errors.push({
          code: 'multiple_edges_into_input',
          edgeId: edge.id,
          nodeId: target.id,
          port: inp.name,
          message: `${nodeName(target)} input "${inp.name}" already has edge "${first.id}"; an input takes one edge (extra: "${edge.id}").`,
        });
      } else {
        intoInput.set(key, edge);
      }
    }
  }
  return errors;
}

function listPorts(ports: readonly { name: string }[]): string {
  return ports.length === 0 ? 'none' : ports.map((p) => p.name).join(', ');
}
