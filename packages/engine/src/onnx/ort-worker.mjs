// One ONNX Runtime session in a worker thread (plain JS: workers do not inherit the tsx loader).
// onnxruntime-node runs a session on the calling JS thread, so in the main thread every batch
// blocked the event loop (socket events, decoding callbacks, augmentation) for its whole run.
// Protocol: init {bytes, options, inputName, outputName} → ready | error; run {id, data, dims} →
// result {id, data} | error {id, message}. Buffers move by transfer, not copy; the owner ends the
// session by terminating the thread.
import { parentPort } from 'node:worker_threads';

let ort = null;
let session = null;
let inputName = null;
let outputName = null;

async function loadOrt() {
  const mod = await import('onnxruntime-node');
  return mod.InferenceSession ? mod : mod.default;
}

parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'init') {
      ort = await loadOrt();
      session = await ort.InferenceSession.create(msg.bytes, msg.options);
      inputName = msg.inputName;
      outputName = msg.outputName;
      parentPort.postMessage({ type: 'ready' });
    } else if (msg.type === 'run') {
      const result = await session.run({ [inputName]: new ort.Tensor('float32', msg.data, msg.dims) });
      const out = result[outputName]?.data;
      if (!(out instanceof Float32Array)) throw new Error('ONNX Runtime returned no float32 output');
      // ORT's output may sit in a native (non-transferable) buffer: move a plain copy (small: features).
      const copy = out.slice();
      parentPort.postMessage({ type: 'result', id: msg.id, data: copy }, [copy.buffer]);
    }
  } catch (err) {
    parentPort.postMessage({ type: 'error', id: msg.id ?? null, message: err instanceof Error ? err.message : String(err) });
  }
});
