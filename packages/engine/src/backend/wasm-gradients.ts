import * as tf from '@tensorflow/tfjs';

/**
 * Kernels the wasm backend lacks but fine-tuning needs (gradients into conv and depthwise conv filters).
 * Each is registered for 'wasm' as a thin bridge to the pure-JS cpu implementation: read the wasm
 * inputs, run the cpu kernel on copies, write the result back into wasm memory.
 */
export const WASM_MISSING_GRADIENT_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'UnsortedSegmentSum',
] as const;

interface DataBackend {
  readSync(dataId: object): tf.backend_util.BackendValues;
  write(values: tf.backend_util.BackendValues | null, shape: number[], dtype: tf.DataType): object;
  disposeData(dataId: object, force?: boolean): boolean;
}

let registered = false;

/**
 * Depthwise filter gradient with flat typed-array loops (the cpu kernel indexes through
 * TensorBuffer.get, several times slower): dW[fh,fw,c,m] = Σ x[b, y·s+fh·d−pad, x·s+fw·d−pad, c] · dy[b,y,x,c·M+m].
 */
function depthwiseFilterGrad(inputs: Record<string, tf.TensorInfo | undefined>, backend: DataBackend, attrs: Record<string, unknown>): tf.TensorInfo | null {
  const x = inputs.x;
  const dy = inputs.dy;
  const filterShape = attrs.filterShape as [number, number, number, number] | undefined;
  if (!x || !dy || !filterShape || x.dtype !== 'float32') return null;
  const conv = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    attrs.strides as number | [number, number],
    attrs.dilations as number | [number, number],
    attrs.pad as 'valid' | 'same' | number,
    attrs.dimRoundingMode as 'floor' | 'round' | 'ceil' | undefined,
    true,
  );
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = conv;
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = conv;
  const top = conv.padInfo.top;
  const left = conv.padInfo.left;
  const mult = outChannels / inChannels;
  const xv = backend.readSync(x.dataId) as Float32Array;
  const dyv = backend.readSync(dy.dataId) as Float32Array;
  const dw = new Float32Array(filterHeight * filterWidth * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yo = 0; yo < outHeight; yo++) {
      for (let fh = 0; fh < filterHeight; fh++) {
        const yi = yo * strideHeight - top + fh * dilationHeight;
        if (yi < 0 || yi >= inHeight) continue;
        for (let xo = 0; xo < outWidth; xo++) {
          const dyBase = ((b * outHeight + yo) * outWidth + xo) * outChannels;
          for (let fw = 0; fw < filterWidth; fw++) {
            const xi = xo * strideWidth - left + fw * dilationWidth;
            if (xi < 0 || xi >= inWidth) continue;
            const xBase = ((b * inHeight + yi) * inWidth + xi) * inChannels;
            const wBase = (fh * filterWidth + fw) * outChannels;
            if (mult === 1) {
              for (let c = 0; c < inChannels; c++)
                dw[wBase + c] = (dw[wBase + c] as number) + (xv[xBase + c] as number) * (dyv[dyBase + c] as number);
            } else {
              for (let c = 0; c < inChannels; c++) {
                const xval = xv[xBase + c] as number;
                for (let m = 0; m < mult; m++) {
                  const k = wBase + c * mult + m;
                  dw[k] = (dw[k] as number) + xval * (dyv[dyBase + c * mult + m] as number);
                }
              }
            }
          }
        }
      }
    }
  }
  return { dataId: backend.write(dw, filterShape, 'float32'), shape: filterShape, dtype: 'float32' };
}

type Info = tf.TensorInfo;

/**
 * Pointwise (1×1, stride 1) filter gradient — every MobileNetV2 conv but the stem — is one matrix
 * product, dW = Xᵀ·dY over all pixels: run it with wasm's own BatchMatMul (SIMD) instead of the
 * naive cpu loops, which take seconds per batch at 160 px.
 */
function pointwiseFilterGrad(inputs: Record<string, Info | undefined>, backend: tf.KernelBackend, attrs: Record<string, unknown>): Info | null {
  const x = inputs.x;
  const dy = inputs.dy;
  const filterShape = attrs.filterShape as number[] | undefined;
  const strides = attrs.strides as number | number[] | undefined;
  const dilations = (attrs.dilations as number | number[] | undefined) ?? 1;
  const ones = (v: number | number[] | undefined) => (Array.isArray(v) ? v.every((n) => n === 1) : v === 1);
  if (!x || !dy || !filterShape || filterShape[0] !== 1 || filterShape[1] !== 1) return null;
  if (!ones(strides) || !ones(dilations) || (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC')) return null;
  if (typeof attrs.pad !== 'string' && attrs.pad !== 0) return null;
  const matMul = tf.getKernel('BatchMatMul', 'wasm');
  if (!matMul) return null;
  const [n, h, w, cin] = x.shape as [number, number, number, number];
  const cout = dy.shape[3] as number;
  const out = matMul.kernelFunc({
    inputs: { a: { ...x, shape: [1, n * h * w, cin] }, b: { ...dy, shape: [1, n * h * w, cout] } },
    backend,
    attrs: { transposeA: true, transposeB: false },
  }) as Info;
  return { dataId: out.dataId, shape: [1, 1, cin, cout], dtype: out.dtype };
}

/** Registers the bridges once; kernels wasm already has are left alone. Returns the names added. */
export function registerWasmGradientKernels(): string[] {
  if (registered) return [];
  registered = true;
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  const added: string[] = [];
  for (const name of WASM_MISSING_GRADIENT_KERNELS) {
    if (have.has(name)) continue;
    const cpuKernel = tf.getKernel(name, 'cpu');
    if (!cpuKernel) continue;
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, backend, attrs }) => {
        if (name === 'Conv2DBackpropFilter') {
          const fast = pointwiseFilterGrad(inputs, backend as tf.KernelBackend, (attrs ?? {}) as Record<string, unknown>);
          if (fast) return fast;
        }
        const wasm = backend as unknown as DataBackend;
        if (name === 'DepthwiseConv2dNativeBackpropFilter') {
          const fast = depthwiseFilterGrad(inputs, wasm, (attrs ?? {}) as Record<string, unknown>);
          if (fast) return fast;
        }
        const cpu = tf.findBackend('cpu') as unknown as DataBackend | null;
        if (!cpu) throw new Error(`wasm bridge for ${name}: the cpu backend is not available`);
        // The cpu backend greets its first write with "install tfjs-node" — noise for a 4-kernel bridge.
        (cpu as unknown as { firstUse?: boolean }).firstUse = false;
        const cpuInputs: Record<string, tf.TensorInfo> = {};
        for (const [key, info] of Object.entries(inputs)) {
          if (!info) continue;
          const values = wasm.readSync(info.dataId);
          cpuInputs[key] = { dataId: cpu.write(values, info.shape, info.dtype), shape: info.shape, dtype: info.dtype };
        }
        try {
          const out = cpuKernel.kernelFunc({
            inputs: cpuInputs,
            backend: cpu as unknown as tf.KernelBackend,
            attrs: attrs ?? {},
          });
          const toWasm = (o: tf.TensorInfo): tf.TensorInfo => {
            const values = cpu.readSync(o.dataId);
            cpu.disposeData(o.dataId, true);
            return { dataId: wasm.write(values, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
          };
          return Array.isArray(out) ? out.map(toWasm) : toWasm(out);
        } finally {
          for (const info of Object.values(cpuInputs)) cpu.disposeData(info.dataId, true);
        }
      },
    });
    added.push(name);
  }
  return added;
}
