import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { execute } from '../src/runtime/executor.ts';
import { createOutputCache } from '../src/runtime/output-cache.ts';
import type { NodeRunFn } from '../src/runtime/types.ts';
import { pipeline } from './helpers/graph-builder.ts';
import { stubRunFns, testDirs } from './helpers/stub-nodes.ts';

/** A real tf model: one dense layer, so two tensors (kernel, bias) until it is disposed. */
function denseModel(inputs: number, units: number): tf.LayersModel {
  return tf.sequential({ layers: [tf.layers.dense({ units, inputShape: [inputs] })] });
}

/**
 * Run functions whose outputs hold real models the way the engine's do: the backbone node makes
 * one, freeze and head pass it on inside new objects, train makes a second (its head) and uses the
 * backbone's model, which must still be alive then.
 */
function modelNodes(created: tf.LayersModel[]) {
  const backbone: NodeRunFn = async () => {
    const model = denseModel(3, 4);
    created.push(model);
    return { outputs: { backbone: { model, topology: {} } } };
  };
  const freeze: NodeRunFn = async (inputs) => ({ outputs: { backbone: { ...(inputs.backbone as object), frozen: (inputs.backbone as { model: unknown }).model } } });
  const head: NodeRunFn = async (inputs) => ({ outputs: { model: { backbone: inputs.backbone, headSpec: {} } } });
  const train: NodeRunFn = async (inputs) => {
    const { backbone } = inputs.model as { backbone: { model: tf.LayersModel } };
    // Throws if the backbone's model was disposed under this running node.
    tf.tidy(() => (backbone.model.predict(tf.ones([1, 3])) as tf.Tensor).dataSync());
    const headModel = denseModel(4, 2);
    created.push(headModel);
    return { outputs: { trained: { backbone, head: headModel, history: [] } } };
  };
  return stubRunFns({ backbone, freeze, head, train }).fns;
}

const isDisposed = (model: tf.LayersModel) => {
  try {
    tf.tidy(() => {
      model.predict(tf.ones([1, model.inputs[0]?.shape[1] as number]));
    });
    return false;
  } catch (err) {
    return /disposed/i.test(String(err));
  }
};

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('the runner output cache (createOutputCache)', () => {
  it('keeps at most maxEntries node outputs over many runs and disposes the models of those it drops', async () => {
    const before = tf.memory().numTensors;
    const created: tf.LayersModel[] = [];
    // 8 entries: one run's worth of this 8-node graph.
    const cache = createOutputCache({ maxEntries: 8 });
    for (let seed = 1; seed <= 5; seed++) {
      // A different backbone seed: new keys for the backbone and everything after it.
      const r = await execute({ runId: `run-${seed}`, graph: pipeline({ backbone: { seed } }), sink: () => {}, dirs: testDirs, cache }, modelNodes(created));
      expect(r.status).toBe('succeeded');
      expect(cache.size).toBeLessThanOrEqual(8);
    }
    expect(created).toHaveLength(10);
    // Only the last run's backbone and head models are cached; the other eight were disposed.
    expect(created.slice(0, 8).every(isDisposed)).toBe(true);
    expect(created.slice(8).some(isDisposed)).toBe(false);
    expect(tf.memory().numTensors).toBe(before + 4);
    cache.clear();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('never disposes a model a running node still needs, even with a cap below the graph size', async () => {
    const before = tf.memory().numTensors;
    const created: tf.LayersModel[] = [];
    // Two entries: the backbone's is dropped before train (four nodes later) uses its model.
    const cache = createOutputCache({ maxEntries: 2 });
    const r = await execute({ runId: 'small-cap', graph: pipeline(), sink: () => {}, dirs: testDirs, cache }, modelNodes(created));
    expect(r.status).toBe('succeeded');
    expect(cache.size).toBe(2);
    // The run is over: what it held beyond the two newest entries (evaluate, deploy: no models) is freed.
    expect(created.every(isDisposed)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a cached rerun reuses the models without disposing them', async () => {
    const created: tf.LayersModel[] = [];
    const cache = createOutputCache({ maxEntries: 8 });
    await execute({ runId: 'first', graph: pipeline(), sink: () => {}, dirs: testDirs, cache }, modelNodes(created));
    const again = await execute({ runId: 'again', graph: pipeline(), sink: () => {}, dirs: testDirs, cache }, modelNodes(created));
    expect(again.cached).toHaveLength(8);
    expect(created).toHaveLength(2);
    expect(created.some(isDisposed)).toBe(false);
    cache.clear();
    expect(created.every(isDisposed)).toBe(true);
  });
});
