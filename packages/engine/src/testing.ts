/**
 * Fixtures for the tests of every workspace (engine, web, end-to-end) that check the image pixel limit
 * (IMAGE_MAX_PIXELS): `@defectflow/engine/testing`, kept out of the engine's main entry.
 */
import { crc32, deflateSync } from 'node:zlib';
import { encodeOnnxModel, type OnnxNode, type OnnxTensor } from './onnx/onnx-proto.ts';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/**
 * A hand-written PNG whose header claims `width`×`height` (30000×30000 RGB = 2.7 GB decoded) with a tiny
 * IDAT: about 70 bytes on disk that ask a decoder for gigabytes (what a decompression bomb looks like).
 */
export function hugeHeaderPng(width = 30_000, height = 30_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  // One filter byte + a few pixels of the first row; the rest is "missing".
  const idat = deflateSync(Buffer.alloc(1 + 3 * 64));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/**
 * A small ResNet-style ONNX model as torchvision exports one (NCHW float input `input` [1,3,size,size]
 * with a fixed batch of 1, Conv/BatchNormalization/Relu/MaxPool/Add blocks, GlobalAveragePool →
 * Flatten → Gemm logits), with seeded random weights and the block outputs named `layer1` (8×s/4),
 * `layer2` (16×s/8) and `layer3` (32×s/16) — the fixture of the ONNX-backbone tests (import, cut
 * points, normalisation, equality of predictions), written with the engine's own ONNX writer.
 */
export function resnetFixtureOnnx(options: { size?: number; seed?: number; /** Block outputs (layer1..3) declared as extra graph outputs (reference runs in tests). */ extraOutputs?: string[] } = {}): Uint8Array {
  const size = options.size ?? 64;
  let state = (options.seed ?? 7) >>> 0 || 1;
  const rand = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 4294967296) * 2 - 1;
  };
  const nodes: OnnxNode[] = [];
  const initializers: OnnxTensor[] = [];
  const tensor = (name: string, dims: number[], f: (i: number) => number) => {
    const n = dims.reduce((a, b) => a * b, 1);
    initializers.push({ name, dims, data: Float32Array.from({ length: n }, (_, i) => f(i)) });
    return name;
  };
  const conv = (x: string, prefix: string, cin: number, cout: number, k: number, stride: number) => {
    const std = Math.sqrt(2 / (cin * k * k));
    const w = tensor(`${prefix}.weight`, [cout, cin, k, k], () => rand() * std * 1.7);
    const out = `/${prefix.replace(/\./g, '/')}/Conv_output_0`;
    const p = Math.floor(k / 2);
    nodes.push({ opType: 'Conv', name: `/${prefix}/Conv`, inputs: [x, w], outputs: [out], attributes: [{ name: 'kernel_shape', ints: [k, k] }, { name: 'strides', ints: [stride, stride] }, { name: 'pads', ints: [p, p, p, p] }, { name: 'dilations', ints: [1, 1] }, { name: 'group', i: 1 }] });
    return out;
  };
  const bn = (x: string, prefix: string, c: number) => {
    const args = [
      tensor(`${prefix}.weight`, [c], () => 1 + 0.2 * rand()),
      tensor(`${prefix}.bias`, [c], () => 0.1 * rand()),
      tensor(`${prefix}.running_mean`, [c], () => 0.1 * rand()),
      tensor(`${prefix}.running_var`, [c], () => 1 + 0.5 * Math.abs(rand())),
    ];
    const out = `/${prefix.replace(/\./g, '/')}/BatchNormalization_output_0`;
    nodes.push({ opType: 'BatchNormalization', name: `/${prefix}/BatchNormalization`, inputs: [x, ...args], outputs: [out], attributes: [{ name: 'epsilon', f: 1e-5 }, { name: 'momentum', f: 0.9 }] });
    return out;
  };
  const relu = (x: string, out: string) => {
    nodes.push({ opType: 'Relu', name: `${out}/Relu`, inputs: [x], outputs: [out] });
    return out;
  };
  const block = (x: string, name: string, cin: number, cout: number, stride: number) => {
    let y = relu(bn(conv(x, `${name}.0.conv1`, cin, cout, 3, stride), `${name}.0.bn1`, cout), `/${name}/0/relu/Relu_output_0`);
    y = bn(conv(y, `${name}.0.conv2`, cout, cout, 3, 1), `${name}.0.bn2`, cout);
    const skip = stride === 1 && cin === cout ? x : bn(conv(x, `${name}.0.downsample.0`, cin, cout, 1, stride), `${name}.0.downsample.1`, cout);
    const sum = `/${name}/0/Add_output_0`;
    nodes.push({ opType: 'Add', name: `/${name}/0/Add`, inputs: [y, skip], outputs: [sum] });
    return relu(sum, name);
  };
  let x = relu(bn(conv('input', 'conv1', 3, 8, 3, 2), 'bn1', 8), '/relu/Relu_output_0');
  nodes.push({ opType: 'MaxPool', name: '/maxpool/MaxPool', inputs: [x], outputs: ['/maxpool/MaxPool_output_0'], attributes: [{ name: 'kernel_shape', ints: [3, 3] }, { name: 'strides', ints: [2, 2] }, { name: 'pads', ints: [1, 1, 1, 1] }] });
  x = block('/maxpool/MaxPool_output_0', 'layer1', 8, 8, 1);
  x = block(x, 'layer2', 8, 16, 2);
  x = block(x, 'layer3', 16, 32, 2);
  nodes.push({ opType: 'GlobalAveragePool', name: '/avgpool/GlobalAveragePool', inputs: [x], outputs: ['/avgpool/GlobalAveragePool_output_0'] });
  nodes.push({ opType: 'Flatten', name: '/Flatten', inputs: ['/avgpool/GlobalAveragePool_output_0'], outputs: ['/Flatten_output_0'], attributes: [{ name: 'axis', i: 1 }] });
  const fcW = tensor('fc.weight', [10, 32], () => rand() * 0.2);
  const fcB = tensor('fc.bias', [10], () => 0);
  nodes.push({ opType: 'Gemm', name: '/fc/Gemm', inputs: ['/Flatten_output_0', fcW, fcB], outputs: ['logits'], attributes: [{ name: 'alpha', f: 1 }, { name: 'beta', f: 1 }, { name: 'transB', i: 1 }] });
  return encodeOnnxModel({
    producerName: 'pytorch',
    producerVersion: '2.3.0',
    graph: { name: 'main_graph', nodes, initializers, inputs: [{ name: 'input', dims: [1, 3, size, size] }], outputs: [{ name: 'logits', dims: [1, 10] }, ...(options.extraOutputs ?? []).map((name) => ({ name, dims: [1, 'c', 'h', 'w'] }))] },
  });
}
