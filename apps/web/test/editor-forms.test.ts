import { createDefaultPipeline, type SerializedNodeDefinition, serializeRegistry } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import { fromPipelineGraph } from '../src/editor/graph-convert.ts';
import { layoutLeftToRight } from '../src/editor/layout.ts';
import { isFieldVisible, numberStep, paramFields, paramSummary } from '../src/editor/schema-form.ts';

const registry = serializeRegistry();
const def = (type: string) => registry.find((d) => d.type === type) as SerializedNodeDefinition;

describe('inspector form drawn from the registry JSON Schema', () => {
  it('picks a control per field: enums as selects, booleans as toggles, numbers with ranges', () => {
    const fields = Object.fromEntries(paramFields(def('train')).map((f) => [f.name, f]));
    expect(fields.optimizer?.kind).toBe('enum');
    expect(fields.optimizer?.schema.enum).toEqual(['adam', 'sgd']);
    expect(fields.earlyStopping?.kind).toBe('boolean');
    expect(fields.epochs).toMatchObject({ kind: 'integer', title: 'Epochs', defaultValue: 30 });
    expect(fields.epochs?.schema).toMatchObject({ minimum: 1, maximum: 500 });
    expect(fields.epochs?.help).toMatch(/passes over the training set/);
    expect(numberStep(fields.epochs as NonNullable<typeof fields.epochs>)).toBe(1);
    expect(numberStep(fields.learningRate as NonNullable<typeof fields.learningRate>)).toBeCloseTo(0.0001);
  });

  it('hides fields whose showWhen condition does not hold', () => {
    const patience = paramFields(def('train')).find((f) => f.name === 'patience');
    if (!patience) throw new Error('train has no patience field');
    expect(isFieldVisible(patience, { earlyStopping: true })).toBe(true);
    expect(isFieldVisible(patience, { earlyStopping: false })).toBe(false);
  });

  it('summarises a node by the params the user changed first', () => {
    expect(paramSummary(def('train'), { epochs: 5 })).toMatch(/^epochs 5 · optimizer adam/);
    expect(paramSummary(def('dataset'), { path: 'coil-images' })).toMatch(/^dataset folder coil-images/);
  });
});

describe('auto-layout', () => {
  it('lays the default pipeline out left to right with inputs in the first column', () => {
    const { nodes, edges } = fromPipelineGraph(createDefaultPipeline());
    const at = layoutLeftToRight(nodes, edges);
    const x = (id: string) => at.get(id)?.x ?? Number.NaN;
    for (const e of edges) expect(x(e.source)).toBeLessThan(x(e.target));
    expect(x('dataset')).toBe(x('backbone'));
    expect(Math.min(...[...at.values()].map((p) => p.x))).toBe(x('dataset'));
  });
});
