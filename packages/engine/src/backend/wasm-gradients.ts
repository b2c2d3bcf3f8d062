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
        const wasm = backend as unknown as DataBackend;
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
