/**
 * Adam and momentum-SGD updates as a tiny WebAssembly SIMD module (4 floats per instruction).
 *
 * Why hand-assembled bytes: the update is a dozen arithmetic ops over every parameter, and on
 * these machines a JS loop over 74k parameters (the default head) takes ≈ 0.5–0.7 ms because V8
 * does not vectorise it, while one ONNX op per arithmetic step costs as much again in memory
 * traffic. Two short loops do not justify a toolchain (wabt, emscripten) in the build, so the
 * module is emitted here; the instruction listing below is the source, with the opcodes named.
 */

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  get: (i: number) => [0x20, i],
  set: (i: number) => [0x21, i],
  tee: (i: number) => [0x22, i],
  i32: (v: number) => [0x41, ...sleb(v)],
  f32: (v: number) => [0x43, ...new Uint8Array(Float32Array.of(v).buffer)],
  i32Add: [0x6a],
  i32GeU: [0x4f],
  i32Shl: [0x74],
  load: [0xfd, 0x00, 0x04, 0x00], // v128.load align=16 offset=0
  store: [0xfd, 0x0b, 0x04, 0x00], // v128.store
  splat: [0xfd, 0x13], // f32x4.splat
  sqrt: [0xfd, 0xe3, 0x01],
  add: [0xfd, 0xe4, 0x01],
  sub: [0xfd, 0xe5, 0x01],
  mul: [0xfd, 0xe6, 0x01],
  div: [0xfd, 0xe7, 0x01],
} as const;

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(byte & 0x40)) || (v === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    const byte = v & 0x7f;
    v >>>= 7;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return out;
}

const vec = (items: number[][]) => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
const name = (s: string) => [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];

/** `addr(base)` pushes base + i (i = byte offset, local `i`). */
const at = (base: number, i: number) => [...op.get(base), ...op.get(i), ...op.i32Add];

/** The shared loop: for (i = 0; i < n·4; i += 16) body. */
function loop(n: number, i: number, end: number, body: number[]): number[] {
  return [
    ...op.get(n), ...op.i32(2), ...op.i32Shl, ...op.set(end),
    ...op.i32(0), ...op.set(i),
    ...op.block, ...op.loop,
    ...op.get(i), ...op.get(end), ...op.i32GeU, ...op.brIf(1),
    ...body,
    ...op.get(i), ...op.i32(16), ...op.i32Add, ...op.set(i),
    ...op.br(0),
    ...op.end, ...op.end,
  ];
}

/**
 * adam(p, m, v, g, n, step, eps): m = 0.9m + 0.1g; v = 0.999v + 0.001g²; p −= step·m / (√v + eps),
 * with the bias corrections folded into step and eps by the caller (tf.train.adam's update).
 * Locals: 7 i, 8 end, 9 step×4, 10 eps×4, 11 0.9, 12 0.1, 13 0.999, 14 0.001, 15 g, 16 m, 17 v.
 */
function adamBody(): number[] {
  const [p, m, v, g, n, step, eps, i, end, s, e, b1, c1, b2, c2, gi, mi, vi] = Array.from({ length: 18 }, (_, k) => k) as number[] as [
    number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number,
  ];
  const splat = (value: number[], local: number) => [...value, ...op.splat, ...op.set(local)];
  const code = [
    ...splat(op.get(step), s), ...splat(op.get(eps), e),
    ...splat(op.f32(0.9), b1), ...splat(op.f32(0.1), c1), ...splat(op.f32(0.999), b2), ...splat(op.f32(0.001), c2),
    ...loop(n, i, end, [
      ...at(g, i), ...op.load, ...op.set(gi),
      ...at(m, i), ...at(m, i), ...op.load, ...op.get(b1), ...op.mul, ...op.get(gi), ...op.get(c1), ...op.mul, ...op.add, ...op.tee(mi), ...op.store,
      ...at(v, i), ...at(v, i), ...op.load, ...op.get(b2), ...op.mul,
      ...op.get(gi), ...op.get(gi), ...op.mul, ...op.get(c2), ...op.mul, ...op.add, ...op.tee(vi), ...op.store,
      ...at(p, i), ...at(p, i), ...op.load,
      ...op.get(mi), ...op.get(s), ...op.mul, ...op.get(vi), ...op.sqrt, ...op.get(e), ...op.add, ...op.div, ...op.sub, ...op.store,
    ]),
    ...op.end,
  ];
  return [...vec([[2, I32], [9, V128]]), ...code];
}

/** momentum(p, m, g, n, lr): m = 0.9m + g; p −= lr·m. Locals: 5 i, 6 end, 7 lr×4, 8 0.9, 9 m. */
function momentumBody(): number[] {
  const [p, m, g, n, lr, i, end, s, b, mi] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const code = [
    ...op.get(lr), ...op.splat, ...op.set(s), ...op.f32(0.9), ...op.splat, ...op.set(b),
    ...loop(n, i, end, [
      ...at(m, i), ...at(m, i), ...op.load, ...op.get(b), ...op.mul, ...at(g, i), ...op.load, ...op.add, ...op.tee(mi), ...op.store,
      ...at(p, i), ...at(p, i), ...op.load, ...op.get(mi), ...op.get(s), ...op.mul, ...op.sub, ...op.store,
    ]),
    ...op.end,
  ];
  return [...vec([[2, I32], [3, V128]]), ...code];
}

function moduleBytes(): Uint8Array {
  const types = vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32]]), 0],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [F32]]), 0],
  ]);
  const bodies = [adamBody(), momentumBody()].map((b) => [...uleb(b.length), ...b]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, 1]])), // one memory, min 1 page, grown on demand
    ...section(7, vec([
      [...name('memory'), 0x02, 0],
      [...name('adam'), 0x00, 0],
      [...name('momentum'), 0x00, 1],
    ])),
    ...section(10, vec(bodies)),
  ]);
}

/** The slice of the WebAssembly API used here (the engine's TS lib has no DOM/wasm typings). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

interface OptimizerExports {
  memory: WasmMemory;
  adam(p: number, m: number, v: number, g: number, n: number, step: number, eps: number): void;
  momentum(p: number, m: number, g: number, n: number, lr: number): void;
}

let compiled: WasmModule | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is unavailable (the caller falls back to JS). */
function optimizerModule(): WasmModule | null {
  if (compiled === undefined) {
    try {
      if (!wasm) throw new Error('no WebAssembly');
      compiled = new wasm.Module(moduleBytes());
    } catch {
      compiled = null;
    }
  }
  return compiled ?? null;
}

/** A group of float arrays in one wasm memory, 16-byte aligned and zero-padded to whole SIMD lanes. */
export class SimdOptimizer {
  private readonly exports: OptimizerExports;
  private readonly arrays: Float32Array[];

  private constructor(exports: OptimizerExports, sizes: number[]) {
    this.exports = exports;
    const padded = sizes.map((n) => Math.ceil(n / 4) * 4);
    const bytes = padded.reduce((a, n) => a + n * 4, 0);
    const have = exports.memory.buffer.byteLength;
    if (bytes > have) exports.memory.grow(Math.ceil((bytes - have) / 65536));
    // Views are taken after the one grow: growing detaches the buffer under earlier views.
    let offset = 0;
    this.arrays = sizes.map((n, k) => {
      const view = new Float32Array(exports.memory.buffer, offset, n);
      offset += (padded[k] as number) * 4;
      return view;
    });
  }

  /** One arena holding zeroed arrays of the given lengths, or null without wasm SIMD. */
  static create(sizes: number[]): SimdOptimizer | null {
    const mod = optimizerModule();
    if (!mod || !wasm) return null;
    const instance = new wasm.Instance(mod, {});
    return new SimdOptimizer(instance.exports as unknown as OptimizerExports, sizes);
  }

  /** The arena's arrays, in the order of `sizes`. */
  get views(): readonly Float32Array[] {
    return this.arrays;
  }

  /** Padded length of an arena array (the SIMD loops run over the padding, which stays zero). */
  private lanes(a: Float32Array): number {
    return Math.ceil(a.length / 4) * 4;
  }

  /** Adam on arena arrays: `step` and `eps` carry the bias corrections (see DenseStepper). */
  adam(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: number, eps: number): void {
    this.exports.adam(p.byteOffset, m.byteOffset, v.byteOffset, g.byteOffset, this.lanes(p), step, eps);
  }

  momentum(p: Float32Array, m: Float32Array, g: Float32Array, lr: number): void {
    this.exports.momentum(p.byteOffset, m.byteOffset, g.byteOffset, this.lanes(p), lr);
  }
}
