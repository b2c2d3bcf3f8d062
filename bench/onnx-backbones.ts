/**
 * Issue 21 — a row per backbone: throughput of the frozen extractor (images in memory, ONNX Runtime) and
 * time to a trained, evaluated and exported model with the default template.
 *
 *   npx tsx bench/onnx-backbones.ts [--per-class 20] [--images 64] [--no-resnet50]
 *
 * Backbones: the bundled MobileNetV2 (default, 160 px, block_13_expand_relu); the ResNet-style test fixture
 * (`resnetFixtureOnnx`, 64 px, cut at layer3); and a ResNet-50-shaped graph (torchvision's layout: bottleneck
 * blocks [3, 4, 6, 3], 25.5 M parameters, NCHW 224 px, random weights — no pretrained file can be downloaded
 * here, and throughput does not depend on the weights) written with the engine's ONNX writer, cut at layer3
 * (1024×14×14) and at layer4 (2048×7×7). Time to model: the default template on a generated sample-steel set
 * (`--per-class` images per class at 128 px), fresh output and feature caches, from execute() to run.finished.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PER_CLASS = Number(arg('per-class', '20'));
const IMAGES = Number(arg('images', '64'));
const RESNET50 = !process.argv.includes('--no-resnet50');

const { generateSampleDataset, initBackend, loadBackbone, freezeBackbone, extractFeatures } = await import('../packages/engine/src/index.ts');
const { resnetFixtureOnnx } = await import('../packages/engine/src/testing.ts');
const { encodeOnnxModel } = await import('../packages/engine/src/onnx/onnx-proto.ts');
type OnnxNode = import('../packages/engine/src/onnx/onnx-proto.ts').OnnxNode;
type OnnxTensor = import('../packages/engine/src/onnx/onnx-proto.ts').OnnxTensor;
const { execute, MemoryOutputCache, nodeRunFunctions } = await import('../packages/nodes/src/runtime/index.ts');

/** torchvision resnet50's graph (conv/bn/relu, bottlenecks with downsample), random weights, block outputs named layer1..4. */
function resnet50Onnx(): Uint8Array {
  let s = 12345;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  };
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  let k = 0;
  const t = (dims: number[], f: () => number) => {
    const name = `w${k++}`;
    inits.push({ name, dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, f) });
    return name;
  };
  const op = (opType: string, inputs: string[], attributes?: OnnxNode['attributes'], out = `t${k++}`) => {
    nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  };
  const conv = (x: string, cin: number, cout: number, kk: number, stride: number) => {
    const p = Math.floor(kk / 2);
    const std = Math.sqrt(2 / (cin * kk * kk));
    const y = op('Conv', [x, t([cout, cin, kk, kk], () => rand() * std * 2)], [{ name: 'kernel_shape', ints: [kk, kk] }, { name: 'strides', ints: [stride, stride] }, { name: 'pads', ints: [p, p, p, p] }]);
    return op('BatchNormalization', [y, t([cout], () => 1), t([cout], () => 0), t([cout], () => 0), t([cout], () => 1)], [{ name: 'epsilon', f: 1e-5 }]);
  };
  let x = op('Relu', [conv('input', 3, 64, 7, 2)]);
  x = op('MaxPool', [x], [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 1, 1] }]);
  let cin = 64;
  [[3, 64, 1], [4, 128, 2], [6, 256, 2], [3, 512, 2]].forEach(([blocks, width, stride], li) => {
    for (let b = 0; b < (blocks as number); b++) {
      const st = b === 0 ? (stride as number) : 1;
      const w = width as number;
      let y = op('Relu', [conv(x, cin, w, 1, 1)]);
      y = op('Relu', [conv(y, w, w, 3, st)]);
      y = conv(y, w, w * 4, 1, 1);
      const skip = b === 0 ? conv(x, cin, w * 4, 1, st) : x;
      x = op('Relu', [op('Add', [y, skip])], undefined, b === (blocks as number) - 1 ? `layer${li + 1}` : `t${k++}`);
      cin = w * 4;
    }
  });
  const pooled = op('Flatten', [op('GlobalAveragePool', [x])], [{ name: 'axis', i: 1 }]);
  op('Gemm', [pooled, t([1000, 2048], () => rand() * 0.02), t([1000], () => 0)], [{ name: 'transB', i: 1 }], 'logits');
  return encodeOnnxModel({ producerName: 'bench', producerVersion: '0', graph: { name: 'resnet50', nodes, initializers: inits, inputs: [{ name: 'input', dims: ['batch', 3, 224, 224] }], outputs: [{ name: 'logits', dims: ['batch', 1000] }] } });
}

const info = await initBackend();
const work = mkdtempSync(path.join(os.tmpdir(), 'df-onnx-bench-'));
const backbonesDir = path.join(work, 'backbones');
mkdirSync(backbonesDir, { recursive: true });
writeFileSync(path.join(backbonesDir, 'resnet-tiny.onnx'), resnetFixtureOnnx({ size: 64 }));
if (RESNET50) writeFileSync(path.join(backbonesDir, 'resnet50.onnx'), resnet50Onnx());

console.log(machineHeader(`ONNX backbones (backend ${info.name})`));
console.log('| backbone | input → cut (features) | params | img/s (ORT, images in memory, batch 16, pooled) |');
console.log('|---|---|---|---|');
const rows: { label: string; options: Parameters<typeof loadBackbone>[0] }[] = [
  { label: 'MobileNetV2 (bundled, default)', options: { inputSize: 160, cutAt: 'block_13_expand_relu' } },
  { label: 'ResNet-style fixture (ONNX)', options: { source: 'onnx', onnxFile: path.join(backbonesDir, 'resnet-tiny.onnx'), onnx: { cut: 'layer3' } } },
  ...(RESNET50
    ? [
        { label: 'ResNet-50 shape (ONNX, random weights)', options: { source: 'onnx' as const, onnxFile: path.join(backbonesDir, 'resnet50.onnx'), onnx: { cut: 'layer3' } } },
        { label: 'ResNet-50 shape (ONNX, random weights)', options: { source: 'onnx' as const, onnxFile: path.join(backbonesDir, 'resnet50.onnx'), onnx: { cut: 'layer4' } } },
      ]
    : []),
];
for (const row of rows) {
  const b = await freezeBackbone(await loadBackbone(row.options), { mode: 'all' });
  const size = b.inputSize;
  const images = Array.from({ length: IMAGES }, (_, i) => Float32Array.from({ length: size * size * 3 }, (_, j) => (i * 7 + j) % 255));
  await extractFeatures(b.frozen, images.slice(0, 16), { pool: 'avg', batchSize: 16 });
  const t0 = performance.now();
  await extractFeatures(b.frozen, images, { pool: 'avg', batchSize: 16 });
  const ips = IMAGES / ((performance.now() - t0) / 1000);
  const params = b.model ? b.model.countParams() : (b.onnx?.params ?? 0);
  console.log(`| ${row.label} | ${size}×${size} → ${b.cutAt} (${b.outputShape.join('×')}) | ${(params / 1e6).toFixed(2)} M | ${ips.toFixed(1)} |`);
}

console.log(`\nTime to model: default template, sample-steel ${PER_CLASS} images/class at 128 px (load ${loadNow()})\n`);
console.log('| backbone | time to model (s) | of which the train node (s; feature extraction included) | test accuracy |');
console.log('|---|---|---|---|');
const datasets = path.join(work, 'datasets');
await generateSampleDataset(path.join(datasets, 'sample-steel'), { perClass: PER_CLASS, size: 128, seed: 3 });
const graph0 = JSON.parse(readFileSync(path.join(ROOT, 'examples/default-pipeline.json'), 'utf8'));
const variants: { label: string; backbone: Record<string, unknown> }[] = [
  { label: 'MobileNetV2 (bundled, default template as is)', backbone: {} },
  { label: 'ResNet-style fixture (ONNX, cut layer3)', backbone: { source: 'onnx', onnxFile: 'resnet-tiny.onnx', onnxCut: 'layer3' } },
];
for (const [i, v] of variants.entries()) {
  const graph = { ...graph0, nodes: graph0.nodes.map((n: { type: string; params: object }) => (n.type === 'backbone' ? { ...n, params: { ...n.params, ...v.backbone } } : n)) };
  const dataDir = mkdtempSync(path.join(work, 'data-'));
  mkdirSync(path.join(dataDir, 'backbones'), { recursive: true });
  writeFileSync(path.join(dataDir, 'backbones', 'resnet-tiny.onnx'), resnetFixtureOnnx({ size: 64 }));
  let accuracy: number | null = null;
  const t0 = performance.now();
  const result = await execute(
    {
      runId: `bench-${i}`,
      graph,
      cache: new MemoryOutputCache(),
      dirs: { dataDir, datasetsRoot: datasets, runDir: path.join(dataDir, 'runs', `r${i}`), modelsDir: path.join(dataDir, 'models'), cacheDir: path.join(dataDir, 'cache') },
      sink: (e) => {
        if (e.type === 'node.finished' && e.nodeId === 'evaluate') accuracy = (e.summary as { accuracy?: number } | undefined)?.accuracy ?? null;
      },
    },
    nodeRunFunctions,
  );
  const total = (performance.now() - t0) / 1000;
  if (result.status !== 'succeeded') throw new Error(`${v.label}: ${result.error}`);
  const tr = (result.timings.train ?? 0) / 1000;
  console.log(`| ${v.label} | ${total.toFixed(1)} | ${tr.toFixed(1)} | ${accuracy === null ? '—' : Number(accuracy).toFixed(3)} |`);
}
