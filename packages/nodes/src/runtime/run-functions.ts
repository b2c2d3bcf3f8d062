import type { z } from 'zod';
import type { NodeDefinition } from '../definition.ts';
import {
  type NodeType,
  augmentNode,
  backboneNode,
  datasetNode,
  deployNode,
  evaluateNode,
  freezeNode,
  headNode,
  trainNode,
} from '../nodes/index.ts';
import { runAugment } from '../nodes/augment/run.ts';
import { runBackbone } from '../nodes/backbone/run.ts';
import { runDataset } from '../nodes/dataset/run.ts';
import { runDeploy } from '../nodes/deploy/run.ts';
import { runEvaluate } from '../nodes/evaluate/run.ts';
import { runFreeze } from '../nodes/freeze/run.ts';
import { runHead } from '../nodes/head/run.ts';
import { runTrain } from '../nodes/train/run.ts';
import { describeParamIssues } from '../param-messages.ts';
import { NodeError, type NodeRunFn } from './types.ts';

/** A typed run function joined to its definition: it takes raw params and parses them with the definition's schema. */
export type BoundRunFn<T extends string = string> = NodeRunFn & { readonly nodeType: T };

/**
 * Joins a definition and its run function. The run function's params must be the schema's output
 * (`z.output<typeof definition.params>`); the bound function parses what it is given with that schema,
 * so defaults are filled in one place (the definition) and a direct call with partial params works too;
 * params the schema refuses (the executor validates first, so only a direct call) fail with `param_invalid`.
 */
export function bindRun<const T extends string, S extends z.ZodType>(
  definition: NodeDefinition<S, T>,
  run: NodeRunFn<z.output<S>>,
): BoundRunFn<T> {
  const bound: NodeRunFn = async (inputs, params, ctx) => {
    const parsed = definition.params.safeParse(params);
    if (!parsed.success) {
      const problems = describeParamIssues(definition.params, params, parsed.error).map((p) => p.text);
      throw new NodeError('param_invalid', problems.join(' '));
    }
    return run(inputs, parsed.data, ctx);
  };
  return Object.assign(bound, { nodeType: definition.type });
}

/**
 * type → engine-backed run function (each a few lines around @defectflow/engine). The `satisfies` makes a
 * node type of `nodeDefinitions` without a run function, an extra key, or a run function bound to another
 * definition a compile error.
 */
export const nodeRunFunctions = {
  dataset: bindRun(datasetNode, runDataset),
  augment: bindRun(augmentNode, runAugment),
  backbone: bindRun(backboneNode, runBackbone),
  freeze: bindRun(freezeNode, runFreeze),
  head: bindRun(headNode, runHead),
  train: bindRun(trainNode, runTrain),
  evaluate: bindRun(evaluateNode, runEvaluate),
  deploy: bindRun(deployNode, runDeploy),
} satisfies { readonly [T in NodeType]: BoundRunFn<T> };
