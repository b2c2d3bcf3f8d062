import { evaluateClassifier } from '@defectflow/engine';
import { createDefaultPipeline } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import { resultLines, summarizeRun } from '../src/commands/run.ts';

/** Metrics of a model that answers `answer` for every image, on 7 good and 3 scratch test images (train: 70 / 30). */
async function metricsAlways(answer: number) {
  const items = Array.from({ length: 10 }, (_, i) => ({ id: `i${i}`, label: i < 7 ? 0 : 1 }));
  return evaluateClassifier({
    items,
    classes: ['good', 'scratch'],
    trainCounts: [70, 30],
    predictProbs: async (batch) => Float32Array.from(batch.flatMap(() => (answer === 0 ? [0.9, 0.1] : [0.1, 0.9]))),
  });
}

function summary(metrics: unknown) {
  const graph = createDefaultPipeline();
  const result = { status: 'succeeded', outputs: { evaluate: { metrics } }, cached: [], timings: {} } as unknown as Parameters<typeof summarizeRun>[1];
  return summarizeRun(graph, result, { name: 'wasm', device: 'cpu' });
}

describe('the CLI result', () => {
  it('warns in words, on stderr and in --json, when the model does not beat always answering the largest class', async () => {
    const useless = summary(await metricsAlways(0));
    expect(useless.metrics?.beatsBaseline).toBe(false);
    expect(useless.metrics?.baselineWarning).toMatch(/good/);
    const lines = resultLines(useless);
    expect(lines[0]).toContain("always 'good': 70.0 %");
    expect(lines.some((l) => l.startsWith('WARNING: '))).toBe(true);
  });

  it('says nothing of the kind for a model that clearly beats it', async () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ id: `i${i}`, label: i < 7 ? 0 : 1 }));
    const perfect = await evaluateClassifier({
      items,
      classes: ['good', 'scratch'],
      trainCounts: [70, 30],
      predictProbs: async (batch) => Float32Array.from(batch.flatMap((it) => (items.find((x) => x.id === it.id)?.label === 0 ? [0.9, 0.1] : [0.1, 0.9]))),
    });
    const good = summary(perfect);
    expect(good.metrics?.beatsBaseline).toBe(true);
    expect(good.metrics?.baselineWarning).toBeNull();
    expect(resultLines(good).some((l) => l.startsWith('WARNING'))).toBe(false);
  });
});
