/** @defectflow/nodes — browser-safe: node catalogue, graph schema, validation. No node: modules, no TensorFlow. */
export * from './graph.ts';
export * from './events.ts';
export * from './ports.ts';
export * from './definition.ts';
export * from './errors.ts';
export * from './nodes/index.ts';
export { validateGraph, checkShape, type ValidationResult } from './validate.ts';
export { parseGraphJson, type ParseGraphResult } from './parse.ts';
export { serializeRegistry, defaultParams, resolveParams, type SerializedNodeDefinition } from './registry.ts';
export { canConnect, type CanConnectOptions, type ConnectableGraph, type Connection, type ConnectResult } from './connect.ts';
export { createDefaultPipeline } from './default-pipeline.ts';
export { canReach, findCycles, topologicalOrder, type Arc } from './graph-algorithms.ts';
export { canonicalJson } from './canonical-json.ts';
export {
  ABSENT,
  NODE_FIELD,
  deepEqual,
  diffGraphPair,
  diffGraphs,
  formatDiffValue,
  type DiffValue,
  type GraphDiff,
  type GraphPairDiff,
  type ParamChange,
  type ParamDiffRow,
} from './graph-diff.ts';
export * from './sweep/index.ts';
