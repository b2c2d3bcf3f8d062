import { nodeDefinitions, type RunEventBody } from '../../src/index.ts';
import type { NodeRunContext, NodeRunFn } from '../../src/runtime/types.ts';

export interface StubCall {
  nodeId: string;
  inputs: Record<string, unknown>;
  params: Record<string, unknown>;
  ctx: NodeRunContext;
}

/** Stub outputs: a tagged object per output port, so tests can see where a value came from. */
export interface StubValue {
  port: string;
  from: string;
}

/**
 * Stub run functions for all 8 types (no engine). `override` replaces the behaviour of one type;
 * every call is recorded in `calls`, in the order nodes ran.
 */
export function stubRunFns(override: Partial<Record<string, NodeRunFn>> = {}) {
  const calls: StubCall[] = [];
  const fns: Record<string, NodeRunFn> = {};
  for (const def of nodeDefinitions) {
    fns[def.type] = async (inputs, params, ctx) => {
      calls.push({ nodeId: ctx.nodeId, inputs, params, ctx });
      const custom = override[def.type];
      if (custom) return custom(inputs, params, ctx);
      ctx.progress('work', 1, 1);
      const outputs: Record<string, StubValue> = {};
      for (const port of def.outputs) outputs[port.name] = { port: port.name, from: ctx.nodeId };
      return { outputs, summary: { type: def.type } };
    };
  }
  return { fns, calls, ran: () => calls.map((c) => c.nodeId) };
}

export function recorder() {
  const events: RunEventBody[] = [];
  return {
    events,
    sink: (e: RunEventBody) => {
      events.push(e);
    },
    of: <T extends RunEventBody['type']>(type: T) =>
      events.filter((e): e is Extract<RunEventBody, { type: T }> => e.type === type),
  };
}

export const testDirs = {
  dataDir: '/tmp/defectflow-test',
  datasetsRoot: '/tmp/defectflow-test/datasets',
  runDir: '/tmp/defectflow-test/runs/r1',
  modelsDir: '/tmp/defectflow-test/models',
  cacheDir: '/tmp/defectflow-test/cache',
};
