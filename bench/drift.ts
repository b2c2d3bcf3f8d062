/**
 * Issue 18 — input drift and alarms on a simulated production stream, and the prediction API's latency.
 *
 *   npx tsx bench/drift.ts [--per-class 50] [--stream-per-class 40] [--repeats 5] [--requests 100] [--out /tmp/df-drift]
 *
 * 1. Trains the default template's model shape (MobileNetV2 cut at block_13_expand_relu, 160 px, spatial head) on a
 *    synthetic steel set (seed 1) with five of its six classes ('scratches' held out), deploys it (exportModel: its
 *    drift reference is fitted from the training features and calibrated on the validation split).
 * 2. Streams, through predictImages({drift: true}) and the server's alarm rules (apps/web/server/monitoring/rules.ts,
 *    the env defaults: window 50, judged from 20 predictions, drift rate > 20 %, low-confidence rate > 50 %, class mix
 *    > 0.4):
 *    - unchanged: the five classes from other generator seeds (101–103), shuffled — N = images without any alarm,
 *      false-alarm rate = evaluation points (one per image once 20 are in) at which a rule fires;
 *    - shifted: per repeat, 50 unchanged images (other order) and then only shifted ones — contrast × 0.6 and
 *      brightness + 40 ("mild"), contrast × 0.4 and brightness + 110 ("strong"), or the held-out class
 *      'scratches' ("new defect") — M = shifted images until the first alarm (any rule; which rule is reported).
 * 3. The prediction API (createPredictionApiRoutes + the real prediction worker + PGlite + the prediction log + the
 *    alarm evaluator, over real HTTP): one 200×200 PNG per request, sequential, after 5 warm-up requests; p50/p95/max.
 * Prints a markdown section for docs/BENCHMARKS.md.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { createDb } from '../packages/db/src/index.ts';
import {
  type ImagePrediction,
  createRng,
  exportModel,
  generateSampleDataset,
  initBackend,
  loadBackbone,
  loadDataset,
  loadExportedModel,
  predictImages,
  trainOnDataset,
} from '../packages/engine/src/index.ts';
import { LOCAL_PRINCIPAL } from '../apps/web/server/auth/principal.ts';
import { silentLogger } from '../apps/web/server/log.ts';
import { AlarmMonitor } from '../apps/web/server/monitoring/alarms.ts';
import { type AlarmThresholds, type Signal, evaluateRules } from '../apps/web/server/monitoring/rules.ts';
import { createPredictor } from '../apps/web/server/predict.ts';
import { createPredictionApiRoutes } from '../apps/web/server/predictions/api-routes.ts';
import { PredictionLog } from '../apps/web/server/predictions/log.ts';
import { arg, machineHeader, median } from './lib/machine.ts';

const PER_CLASS = Number(arg('per-class', '50'));
const STREAM_PER_CLASS = Number(arg('stream-per-class', '40'));
const REPEATS = Number(arg('repeats', '5'));
const REQUESTS = Number(arg('requests', '100'));
const OUT = path.resolve(arg('out', '/tmp/df-drift'));
const CLASSES = ['crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale'] as const;
const NEW_CLASS = 'scratches' as const;
const LOW_CONFIDENCE = 0.6;
const T: AlarmThresholds = { window: 50, minPredictions: 20, driftRate: 0.2, lowConfidenceRate: 0.5, classMixDistance: 0.4 };

mkdirSync(OUT, { recursive: true });
const header = machineHeader('Input drift and alarms on a simulated stream (bench/drift.ts)');
await initBackend();

async function dataset(name: string, seed: number, perClass: number, classes: readonly string[]): Promise<string> {
  const dir = path.join(OUT, 'datasets', name);
  if (!existsSync(dir)) await generateSampleDataset(dir, { kind: 'steel', seed, perClass, classes: classes as never });
  return dir;
}

/** Every image file under a generated set, in class folders. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(path.join(dir, d.name)).map((f) => path.join(dir, d.name, f)));
}

// 1. Train and deploy.
await dataset('train', 1, PER_CLASS, CLASSES);
const manifest = await loadDataset({ root: path.join(OUT, 'datasets'), path: 'train', valRatio: 0.2, testRatio: 0, seed: 1 });
const backbone = await loadBackbone({ cutAt: 'block_13_expand_relu', inputSize: 160 });
const t0 = performance.now();
const trained = await trainOnDataset({ manifest, backbone, headSpec: { kind: 'spatial', filters: 128 }, epochs: 10, learningRate: 0.003 });
const trainS = (performance.now() - t0) / 1000;
const modelsDir = path.join(OUT, 'models');
const modelDir = path.join(modelsDir, 'bench-drift');
rmSync(modelDir, { recursive: true, force: true });
await exportModel(trained, modelDir, { name: 'bench-drift' });
const meta = JSON.parse(readFileSync(path.join(modelDir, 'defectflow.json'), 'utf8'));
const loaded = await loadExportedModel(modelDir);

async function predictAll(paths: string[]): Promise<ImagePrediction[]> {
  return predictImages(loaded, paths, { drift: true, batchSize: 16 });
}
const signal = (p: ImagePrediction): Signal => ({ label: p.label, lowConfidence: p.confidence < LOW_CONFIDENCE, drifted: p.drift?.drifted ?? null });
const firing = (w: Signal[]) => evaluateRules(w, meta.drift.classCounts, T).filter((r) => r.firing).map((r) => r.rule);

// 2a. The unchanged stream.
const unchangedFiles = (await Promise.all([101, 102, 103].map((s) => dataset(`stream-${s}`, s, STREAM_PER_CLASS, CLASSES)))).flatMap(files);
const unchanged = await predictAll(unchangedFiles);
const order = createRng(7).shuffle(unchanged.map((_, i) => i));
let points = 0;
let falsePoints = 0;
let firstAlarm: number | null = null;
const falseRules = new Map<string, number>();
const window: Signal[] = [];
for (const [k, i] of order.entries()) {
  window.push(signal(unchanged[i] as ImagePrediction));
  if (window.length > T.window) window.shift();
  if (window.length < T.minPredictions) continue;
  points++;
  const fired = firing(window);
  if (fired.length) {
    falsePoints++;
    firstAlarm ??= k + 1;
    for (const r of fired) falseRules.set(r, (falseRules.get(r) ?? 0) + 1);
  }
}
const unchangedDrifted = unchanged.filter((p) => p.drift?.drifted).length;
const accuracy = unchanged.filter((p, i) => (unchangedFiles[i] as string).includes(`/${p.label}/`)).length / unchanged.length;

// 2b. Shifted streams.
async function shifted(name: string, src: string[], contrast: number, brightness: number): Promise<string[]> {
  const dir = path.join(OUT, 'shifted', name);
  mkdirSync(dir, { recursive: true });
  return Promise.all(
    src.map(async (f, i) => {
      const out = path.join(dir, `${i}.png`);
      if (!existsSync(out)) await sharp(f).linear(contrast, brightness + 128 * (1 - contrast)).png().toFile(out);
      return out;
    }),
  );
}
const shiftSrc = files(await dataset('stream-201', 201, 20, CLASSES));
const scenarios = [
  { name: 'mild (contrast × 0.6, brightness + 40)', preds: await predictAll(await shifted('mild', shiftSrc, 0.6, 40)) },
  { name: 'strong (contrast × 0.4, brightness + 110)', preds: await predictAll(await shifted('strong', shiftSrc, 0.4, 110)) },
  { name: `new defect type ('${NEW_CLASS}', never trained on)`, preds: await predictAll(files(await dataset('new-class', 301, 100, [NEW_CLASS]))) },
];
const results = scenarios.map((s) => {
  const ms: Array<number | null> = [];
  const rules = new Map<string, number>();
  let before = 0;
  for (let r = 0; r < REPEATS; r++) {
    const rng = createRng(1000 + r);
    const w: Signal[] = [];
    for (const i of rng.shuffle(unchanged.map((_, j) => j)).slice(0, 50)) {
      w.push(signal(unchanged[i] as ImagePrediction));
      if (w.length > T.window) w.shift();
      if (w.length >= T.minPredictions && firing(w).length) before++;
    }
    let m: number | null = null;
    for (const [k, i] of rng.shuffle(s.preds.map((_, j) => j)).entries()) {
      w.push(signal(s.preds[i] as ImagePrediction));
      if (w.length > T.window) w.shift();
      const fired = firing(w);
      if (fired.length) {
        m = k + 1;
        for (const f of fired) rules.set(f, (rules.get(f) ?? 0) + 1);
        break;
      }
    }
    ms.push(m);
  }
  const drifted = s.preds.filter((p) => p.drift?.drifted).length / s.preds.length;
  return { name: s.name, ms, rules: [...rules.keys()], drifted, before, n: s.preds.length };
});
loaded.model.dispose();

// 3. The prediction API's latency.
const db = await createDb({ inMemory: true });
const model = await db.repo.models.create({ id: 'bench-drift', productLineId: null, name: 'bench-drift', dir: modelDir, labels: meta.labels, inputSize: meta.inputSize });
const predictionLog = new PredictionLog({ repo: db.repo, dir: path.join(OUT, 'predictions'), sampleRate: 0.05, lowConfidence: LOW_CONFIDENCE, imagesMaxBytes: 2 ** 30, retentionDays: 90, log: silentLogger });
const alarms = new AlarmMonitor({ repo: db.repo, thresholds: T, modelsDir, webhook: null, log: silentLogger });
predictionLog.onRecorded = (id, rows) => void alarms.observe(id, rows);
const limits = { maxQueue: 8, maxImages: 32, maxImageBytes: 20 * 2 ** 20, maxModels: 3 };
const predictor = createPredictor({ ...limits, maxPixels: 100_000_000 });
const api = createPredictionApiRoutes({
  repo: db.repo,
  predict: predictor.predict,
  predictionLog,
  modelsDir,
  limits,
  ratePerMin: 1_000_000,
  principal: async () => LOCAL_PRINCIPAL,
  log: silentLogger,
});
const server = createServer((req, res) => {
  void api(req, res, new URL(req.url ?? '/', 'http://localhost')).then((handled) => handled || res.writeHead(404).end());
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/models/${model.id}/predict`;
const body = readFileSync(shiftSrc[0] as string); // a 200×200 PNG
const latencies: number[] = [];
for (let i = 0; i < REQUESTS + 5; i++) {
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'image/png' }, body });
  const json = (await res.json()) as { predictions: Array<{ drift?: unknown; error?: string }> };
  if (res.status !== 200 || !json.predictions[0]?.drift) throw new Error(`API answered ${res.status}: ${JSON.stringify(json).slice(0, 300)}`);
  if (i >= 5) latencies.push(performance.now() - started);
}
await alarms.idle();
server.close();
await predictor.close();
predictionLog.close();
const logged = await db.repo.predictions.count(model.id);
await db.close();
const sorted = latencies.slice().sort((a, b) => a - b);
const p95 = sorted[Math.ceil(0.95 * sorted.length) - 1] as number;

const fmtM = (ms: Array<number | null>) => {
  const hit = ms.filter((m): m is number => m !== null);
  return `${hit.length}/${ms.length} alarmed; M median ${hit.length ? median(hit) : '–'}, max ${hit.length ? Math.max(...hit) : '–'} (per repeat: ${ms.map((m) => m ?? 'none').join(', ')})`;
};
console.log(
  [
    header,
    `Model: MobileNetV2 cut at block_13_expand_relu, 160 px, spatial head, trained on ${manifest.items.filter((i) => i.split === 'train').length} synthetic steel images of ${CLASSES.length} classes (seed 1; '${NEW_CLASS}' held out) in ${trainS.toFixed(0)} s.`,
    `Drift reference: ${meta.drift.references} vectors × ${meta.drift.dims}, k = ${meta.drift.k}, threshold ${meta.drift.threshold.toFixed(3)} = 99th percentile of ${meta.drift.calibration.count} validation images (p50 ${meta.drift.calibration.p50.toFixed(3)}); drift.bin ${((2 + meta.drift.references) * meta.drift.dims * 4 / 2 ** 20).toFixed(2)} MiB.`,
    `Rules: window ${T.window}, judged from ${T.minPredictions}; drift rate > ${T.driftRate}, low-confidence (< ${LOW_CONFIDENCE}) rate > ${T.lowConfidenceRate}, class-mix distance > ${T.classMixDistance}.`,
    '',
    '| stream | images | drifted per image | alarms |',
    '|---|---:|---:|---|',
    `| unchanged (seeds 101–103, accuracy ${(accuracy * 100).toFixed(1)} %) | ${unchanged.length} | ${((unchangedDrifted / unchanged.length) * 100).toFixed(1)} % | N = ${firstAlarm === null ? `${unchanged.length} (no alarm)` : `${firstAlarm - 1} (first alarm at image ${firstAlarm})`}; false-alarm rate ${((falsePoints / points) * 100).toFixed(2)} % of ${points} evaluation points${falseRules.size ? ` (${[...falseRules].map(([r, n]) => `${r} ${n}`).join(', ')})` : ''} |`,
    ...results.map(
      (r) =>
        `| shifted: ${r.name}, after 50 unchanged | ${r.n} | ${(r.drifted * 100).toFixed(1)} % | ${fmtM(r.ms)}; rules: ${r.rules.join(', ') || '–'}; alarms during the 50 unchanged lead-in: ${r.before} |`,
    ),
    '',
    `Prediction API (real HTTP, prediction worker, PGlite log, alarm evaluator), one 200×200 PNG per request, ${REQUESTS} sequential requests after 5 warm-up: p50 ${median(latencies).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms (${logged} log rows).`,
  ].join('\n'),
);
