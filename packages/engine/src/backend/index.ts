import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { registerWasmGradientKernels } from './wasm-gradients.ts';

export { registerWasmGradientKernels, WASM_MISSING_GRADIENT_KERNELS } from './wasm-gradients.ts';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | 'gpu' | 'native' | 'wasm' | 'cpu';

export interface BackendInfo {
  /** tf.getBackend() after selection: 'tensorflow' (tfjs-node / tfjs-node-gpu), 'wasm' or 'cpu'. */
  name: string;
  /** Human words for the UI: "GPU (tfjs-node-gpu)", "CPU (WebAssembly, SIMD)", … */
  device: string;
  /** Why the better candidates were not taken, in order tried. */
  reasons: string[];
}

export interface InitBackendOptions {
  /** Start the search at this candidate ('auto' = best first). */
  prefer?: BackendPreference;
  /** Receives one line per decision. */
  log?: (message: string) => void;
}

const require = createRequire(import.meta.url);
let current: Promise<BackendInfo> | undefined;

/** Dynamic import typed loosely: the native packages are optional and may be absent or broken. */
async function tryImport(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

function errorLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]?.slice(0, 200) ?? msg;
}

/**
 * tfjs-node(-gpu) installs without its native binding when its install script (which downloads libtensorflow)
 * did not run. Importing it then fails only after registering every kernel, and the next candidate's import
 * prints hundreds of "already registered" warnings: look for the binding first and skip cleanly.
 */
function missingNativeBinding(pkg: string): string | null {
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return 'not installed (optional dependency)';
  }
  const lib = path.join(dir, 'lib');
  const hasBinding =
    fs.existsSync(lib) &&
    fs.readdirSync(lib).some((sub) => sub.startsWith('napi-v') && fs.existsSync(path.join(lib, sub, 'tfjs_binding.node')));
  return hasBinding
    ? null
    : `installed without its native binding (its install script downloads libtensorflow; with internet run \`npm rebuild ${pkg} --ignore-scripts=false\`)`;
}

async function tryNative(pkg: string, gpu: boolean, reasons: string[]): Promise<BackendInfo | null> {
  const missing = missingNativeBinding(pkg);
  if (missing) {
    reasons.push(`${pkg}: ${missing}`);
    return null;
  }
  try {
    await tryImport(pkg);
    if (!(await tf.setBackend('tensorflow'))) throw new Error('backend "tensorflow" did not initialise');
    await tf.ready();
    return { name: tf.getBackend(), device: gpu ? `GPU (${pkg})` : `CPU (${pkg}, native TensorFlow)`, reasons };
  } catch (err) {
    reasons.push(`${pkg}: ${errorLine(err)}`);
    return null;
  }
}

const PROCESS_ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

/**
 * The wasm backend's emscripten glue adds process handlers that rethrow every uncaught exception
 * and unhandled rejection: any stray rejection (a cancelled prefetch) then killed the process —
 * inside a native callback as an abort (`terminate called after throwing an instance of
 * 'Napi::Error'`) — and a host's own handlers (the runner fails the run and keeps serving) never
 * had a say. The listeners added while `init` runs are removed again.
 */
async function withoutAddedErrorHandlers<T>(init: () => Promise<T>): Promise<T> {
  const emitter: EventEmitter = process;
  const before = PROCESS_ERROR_EVENTS.map((event) => new Set(emitter.listeners(event)));
  try {
    return await init();
  } finally {
    PROCESS_ERROR_EVENTS.forEach((event, i) => {
      for (const listener of emitter.listeners(event)) {
        if (!before[i]?.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    });
  }
}

async function tryWasm(reasons: string[]): Promise<BackendInfo | null> {
  return withoutAddedErrorHandlers(() => initWasm(reasons));
}

async function initWasm(reasons: string[]): Promise<BackendInfo | null> {
  try {
    const wasm = (await tryImport('@tensorflow/tfjs-backend-wasm')) as {
      setWasmPaths(prefix: string): void;
    };
    // In Node the .wasm binaries are read from disk: point at the package's dist folder (trailing slash matters).
    const distDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(distDir + path.sep);
    // One thread: the threaded build needs workers + SharedArrayBuffer, and the machines are shared.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    if (!(await tf.setBackend('wasm'))) throw new Error('backend "wasm" did not initialise');
    await tf.ready();
    const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const added = registerWasmGradientKernels();
    if (added.length) reasons.push(`wasm: bridged missing gradient kernels to cpu (${added.join(', ')})`);
    return { name: 'wasm', device: `CPU (WebAssembly${simd ? ', SIMD' : ''}, 1 thread)`, reasons };
  } catch (err) {
    reasons.push(`@tensorflow/tfjs-backend-wasm: ${errorLine(err)}`);
    return null;
  }
}

async function select(prefer: BackendPreference, log: (m: string) => void): Promise<BackendInfo> {
  const reasons: string[] = [];
  const order: BackendPreference[] = ['gpu', 'native', 'wasm', 'cpu'];
  const start = prefer === 'auto' ? 0 : order.indexOf(prefer);
  for (const candidate of order.slice(start)) {
    let info: BackendInfo | null = null;
    if (candidate === 'gpu') info = await tryNative('@tensorflow/tfjs-node-gpu', true, reasons);
    else if (candidate === 'native') info = await tryNative('@tensorflow/tfjs-node', false, reasons);
    else if (candidate === 'wasm') info = await tryWasm(reasons);
    else {
      await tf.setBackend('cpu');
      await tf.ready();
      info = { name: 'cpu', device: 'CPU (pure JavaScript, slow)', reasons };
    }
    if (info) {
      if (start > 0) reasons.unshift(`skipped better candidates: prefer=${prefer}`);
      log(`TensorFlow.js backend: ${info.name} — ${info.device}${reasons.length ? `; ${reasons.join('; ')}` : ''}`);
      return info;
    }
  }
  throw new Error('no TensorFlow.js backend could be initialised');
}

/**
 * Picks the best available backend once per process (tfjs-node-gpu → tfjs-node → wasm → cpu).
 * Idempotent: later calls return the first result.
 */
export function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  current ??= select(options.prefer ?? 'auto', options.log ?? (() => {}));
  return current;
}

/** The backend chosen by initBackend, if it has finished. */
export function backendInfo(): Promise<BackendInfo> | undefined {
  return current;
}
