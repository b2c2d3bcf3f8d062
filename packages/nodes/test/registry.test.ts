import { describe, expect, it } from 'vitest';
import { NODE_TYPES, defaultParams, getNodeDefinition, nodeDefinitions, resolveParams, serializeRegistry } from '../src/index.ts';

describe('serializeRegistry', () => {
  it('is plain JSON describing the 8 node types with defaults, ports and a JSON Schema form', () => {
    const registry = serializeRegistry();
    expect(JSON.parse(JSON.stringify(registry))).toEqual(registry);
    expect(registry.map((d) => d.type)).toEqual([...NODE_TYPES]);
    for (const def of registry) {
      expect(def.title.length).toBeGreaterThan(0);
      expect(def.description.length).toBeGreaterThan(20);
      expect(['Data', 'Model', 'Training', 'Output']).toContain(def.category);
      expect(def.params.type).toBe('object');
      const properties = def.params.properties as Record<string, { default?: unknown; description?: string; title?: string }>;
      // Every param has a default, help text and a title, and `{}` resolves to exactly those defaults.
      expect(Object.keys(properties)).toEqual(Object.keys(def.defaults));
      for (const [name, prop] of Object.entries(properties)) {
        expect(prop.default, `${def.type}.${name}`).toEqual(def.defaults[name]);
        expect(prop.description, `${def.type}.${name}`).toBeTruthy();
        expect(prop.title, `${def.type}.${name}`).toBeTruthy();
      }
      expect(def.params.required ?? []).toEqual([]);
    }
    expect(registry.filter((d) => d.terminal).map((d) => d.type)).toEqual(['train', 'evaluate', 'deploy']);
  });

  it('carries ranges, choices and conditional visibility for the form', () => {
    const train = serializeRegistry().find((d) => d.type === 'train');
    const props = train?.params.properties as Record<string, Record<string, unknown>>;
    expect(props.learningRate).toMatchObject({ type: 'number', minimum: 0.00001, maximum: 1, default: 0.001 });
    expect(props.epochs).toMatchObject({ type: 'integer', minimum: 1, maximum: 500, default: 30 });
    expect(props.optimizer).toMatchObject({ enum: ['adam', 'sgd'], default: 'adam' });
    expect(props.patience?.showWhen).toEqual({ earlyStopping: [true] });
    const dataset = serializeRegistry().find((d) => d.type === 'dataset');
    const datasetProps = (dataset?.params.properties ?? {}) as Record<string, Record<string, unknown>>;
    expect(datasetProps.csvFile?.showWhen).toEqual({ layout: ['csv'] });
    expect(train?.inputs).toEqual([
      { name: 'dataset', type: 'Dataset', label: 'Dataset' },
      { name: 'model', type: 'Model', label: 'Model' },
    ]);
  });
});

describe('defaultParams / getNodeDefinition / resolveParams', () => {
  it('gives full defaults per type and a clear error for an unknown type', () => {
    expect(defaultParams('head')).toEqual({ kind: 'spatial', filters: 128, pooling: 'max', hidden: 128, dropout: 0.2 });
    expect(() => defaultParams('resize')).toThrow(/Unknown node type "resize"/);
  });

  it('finds definitions by type', () => {
    expect(getNodeDefinition('deploy')?.inputs.find((p) => p.name === 'metrics')?.optional).toBe(true);
    expect(getNodeDefinition('nope')).toBeUndefined();
    expect(nodeDefinitions).toHaveLength(8);
  });

  it('resolves params with defaults, or undefined when they are invalid', () => {
    expect(resolveParams('evaluate', { split: 'val' })).toEqual({
      split: 'val',
      goodClass: '',
      operatingMode: 'argmax',
      targetRecall: 0.99,
      maxFalseAlarm: 0.05,
    });
    expect(resolveParams('evaluate', { split: 'train' })).toBeUndefined();
    expect(resolveParams('nope', {})).toBeUndefined();
  });
});
