/**
 * Keras functional-model JSON, the form MobileNetV2 ships in. Backbones are cut, split and
 * composed by editing this JSON and copying weights by layer name: the result is always one flat
 * functional model that saves and reloads in plain TF.js (no nested models, no Lambda layers).
 */
export type InboundRef = [string, number, number, Record<string, unknown>?];

export interface LayerJson {
  name: string;
  class_name: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes: InboundRef[][];
}

export interface FunctionalJson {
  name: string;
  layers: LayerJson[];
  input_layers: [string, number, number][];
  output_layers: [string, number, number][];
}

export function cloneJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Names of the layers a layer depends on (itself included). */
export function ancestorsOf(layers: LayerJson[], name: string): Set<string> {
  const byName = new Map(layers.map((l) => [l.name, l]));
  if (!byName.has(name)) throw new Error(`layer "${name}" not found`);
  const seen = new Set<string>();
  const stack = [name];
  while (stack.length) {
    const n = stack.pop() as string;
    if (seen.has(n)) continue;
    seen.add(n);
    for (const node of byName.get(n)?.inbound_nodes ?? []) for (const ref of node) stack.push(ref[0]);
  }
  return seen;
}

/** The model truncated at `outputName` (only its ancestors kept, original order). */
export function truncate(model: FunctionalJson, outputName: string): FunctionalJson {
  const keep = ancestorsOf(model.layers, outputName);
  return {
    name: model.name,
    layers: model.layers.filter((l) => keep.has(l.name)).map(cloneJson),
    input_layers: model.input_layers.filter((i) => keep.has(i[0])),
    output_layers: [[outputName, 0, 0]],
  };
}

/**
 * Layers whose output is the only tensor that crosses from "it and its ancestors" to the rest:
 * places where a model can be split into frozen part → trainable part with one tensor between.
 * (A cut inside a residual block would need two.)
 */
export function cleanBoundaries(model: FunctionalJson): string[] {
  const out: string[] = [];
  const layers = model.layers;
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i] as LayerJson;
    if (layer.class_name === 'InputLayer') continue;
    const below = ancestorsOf(layers, layer.name);
    let clean = true;
    for (const other of layers) {
      if (below.has(other.name)) continue;
      for (const node of other.inbound_nodes)
        for (const ref of node) if (below.has(ref[0]) && ref[0] !== layer.name) clean = false;
      if (!clean) break;
    }
    if (clean) out.push(layer.name);
  }
  return out;
}

/** The part after `boundary`: a new InputLayer named like the boundary replaces it and everything below. */
export function after(model: FunctionalJson, boundary: string, boundaryShape: number[]): FunctionalJson {
  const below = ancestorsOf(model.layers, boundary);
  const input: LayerJson = {
    name: boundary,
    class_name: 'InputLayer',
    config: { name: boundary, batch_input_shape: [null, ...boundaryShape], dtype: 'float32', sparse: false },
    inbound_nodes: [],
  };
  return {
    name: `${model.name}_after_${boundary}`,
    layers: [input, ...model.layers.filter((l) => !below.has(l.name)).map(cloneJson)],
    input_layers: [[boundary, 0, 0]],
    output_layers: cloneJson(model.output_layers),
  };
}

/**
 * Chains single-input single-output functional models: each next model's InputLayer is dropped and
 * its consumers read the previous model's output instead. Layer names must be unique across parts.
 */
export function chain(name: string, parts: FunctionalJson[]): FunctionalJson {
  const first = parts[0];
  if (!first) throw new Error('chain: no parts');
  const layers: LayerJson[] = first.layers.map(cloneJson);
  let output = first.output_layers[0] as [string, number, number];
  for (const part of parts.slice(1)) {
    const inputName = (part.input_layers[0] as [string, number, number])[0];
    const names = new Set(layers.map((l) => l.name));
    for (const layer of part.layers) {
      if (layer.name === inputName) continue;
      if (names.has(layer.name)) throw new Error(`chain: layer name "${layer.name}" used twice`);
      const copy = cloneJson(layer);
      copy.inbound_nodes = copy.inbound_nodes.map((node) =>
        node.map((ref): InboundRef => (ref[0] === inputName ? [output[0], output[1], output[2], ref[3] ?? {}] : ref)),
      );
      layers.push(copy);
    }
    output = part.output_layers[0] as [string, number, number];
  }
  return { name, layers, input_layers: cloneJson(first.input_layers), output_layers: [output] };
}

export function asModelTopology(model: FunctionalJson): Record<string, unknown> {
  return { class_name: 'Model', config: model, keras_version: '2.2.4', backend: 'tensorflow' };
}
