/**
 * The alarm evaluator: the pure rules over a window (drift rate, low-confidence rate, class-mix distance), the
 * evaluator on a real database (PGlite) fed by the real prediction log — opening one alarm per rule, closing it when
 * the window recovers, rebuilding its window from the log after a restart — and the webhook against a real HTTP
 * server that fails first (retried with backoff) and never holds up a prediction. monitoring.get reads it back.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../server/log.ts';
import { AlarmMonitor } from '../server/monitoring/alarms.ts';
import { type AlarmThresholds, classMixDistance, evaluateRules, type Signal } from '../server/monitoring/rules.ts';
import { AlarmWebhook } from '../server/monitoring/webhook.ts';
import type { LogEntry, PredictionLog } from '../server/predictions/log.ts';
import { FakeRunnerControl, makeCaller, memoryDb, tempDir, testPredictionLog, waitFor } from './helpers.ts';

const T: AlarmThresholds = { window: 20, minPredictions: 10, driftRate: 0.2, lowConfidenceRate: 0.5, classMixDistance: 0.4 };
const sig = (label: string, drifted: boolean | null = false, lowConfidence = false): Signal => ({ label, drifted, lowConfidence });

describe('alarm rules', () => {
  it('class-mix distance is the total variation between two mixes', () => {
    expect(classMixDistance({ a: 5, b: 5 }, { a: 50, b: 50 })).toBe(0);
    expect(classMixDistance({ a: 10 }, { b: 3 })).toBe(1);
    expect(classMixDistance({ a: 3, b: 1 }, { a: 1, b: 1 })).toBeCloseTo(0.25);
  });

  it('judges nothing under minPredictions, then fires each rule past its threshold over the last `window` only', () => {
    const mix = { a: 100, b: 100 };
    const few = evaluateRules(Array.from({ length: 9 }, () => sig('a', true, true)), mix, T);
    expect(few.every((r) => r.value === null && !r.firing)).toBe(true);
    // 30 signals: the first 10 all bad, the last 20 (the window) calm and balanced.
    const calm = [...Array.from({ length: 10 }, () => sig('a', true, true)), ...Array.from({ length: 20 }, (_, i) => sig(i % 2 ? 'a' : 'b'))];
    expect(evaluateRules(calm, mix, T).map((r) => [r.rule, r.value, r.firing])).toEqual([
      ['drift_rate', 0, false],
      ['low_confidence_rate', 0, false],
      ['class_mix', 0, false],
    ]);
    // 5 of 20 drifted (25 % > 20 %), 11 of 20 low-confidence (55 % > 50 %), all 'a' (distance 0.5 > 0.4).
    const bad = Array.from({ length: 20 }, (_, i) => sig('a', i < 5, i < 11));
    const r = Object.fromEntries(evaluateRules(bad, mix, T).map((x) => [x.rule, x]));
    expect(r.drift_rate).toMatchObject({ value: 0.25, firing: true, window: 20 });
    expect(r.low_confidence_rate).toMatchObject({ value: 0.55, firing: true });
    expect(r.class_mix).toMatchObject({ value: 0.5, firing: true });
    expect(r.drift_rate?.message).toMatch(/25 % of the last 20 images are drifted.*ALARM_DRIFT_RATE/);
  });

  it('a model without drift scores or training mix never fires those rules', () => {
    const r = evaluateRules(Array.from({ length: 20 }, () => sig('a', null)), null, T);
    expect(r.find((x) => x.rule === 'drift_rate')).toMatchObject({ value: null, firing: false });
    expect(r.find((x) => x.rule === 'class_mix')).toMatchObject({ value: null, firing: false });
  });
});

describe('alarm evaluator and webhook', () => {
  let db: DbHandle;
  let hook: Server | null = null;
  const received: Array<{ event: string; alarm: { rule: string; value: number } }> = [];
  let failFirst = 0;
  let modelsDir: string;

  beforeEach(async () => {
    db = await memoryDb();
    modelsDir = tempDir('df-alarms-');
    const dir = join(modelsDir, 'm1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'defectflow.json'), JSON.stringify({ drift: { threshold: 1.5, percentile: 0.99, k: 5, calibration: { split: 'val', count: 50 }, classCounts: { good: 100, scratch: 100 } } }));
    await db.repo.models.create({ id: 'm1', productLineId: null, name: 'line-model', dir, labels: ['good', 'scratch'], inputSize: 32 });
    received.length = 0;
  });
  afterEach(async () => {
    await db?.close();
    await new Promise<void>((r) => (hook ? hook.close(() => r()) : r()));
    hook = null;
  });

  async function webhookServer(): Promise<string> {
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (failFirst > 0) {
          failFirst--;
          res.writeHead(503).end();
          return;
        }
        received.push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    hook = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/alarms`;
  }

  const entry = (label: string, drifted: boolean, confidence = 0.9): LogEntry => ({
    name: 'x.png',
    data: new Uint8Array([1, 2, 3]),
    label,
    confidence,
    probabilities: { good: 0.5, scratch: 0.5 },
    latencyMs: 3,
    drift: { score: drifted ? 3 : 0.5, drifted },
  });

  function wire(log: PredictionLog, webhook: AlarmWebhook | null): AlarmMonitor {
    const monitor = new AlarmMonitor({ repo: db.repo, thresholds: T, modelsDir, webhook, log: silentLogger });
    log.onRecorded = (modelId, rows) => void monitor.observe(modelId, rows);
    return monitor;
  }

  it('opens one alarm when the drift rate crosses its threshold, posts it (after a failed try), closes it when the stream recovers', async () => {
    failFirst = 1;
    const url = await webhookServer();
    const webhook = new AlarmWebhook({ url, retries: 3, timeoutMs: 2000, log: silentLogger, baseDelayMs: 20 });
    const log = testPredictionLog(db);
    const monitor = wire(log, webhook);
    const ctx = { model: { id: 'm1', version: 1 }, source: 'api' as const };
    // 20 calm, balanced predictions: nothing.
    for (let i = 0; i < 20; i++) await log.record([entry(i % 2 ? 'good' : 'scratch', false)], ctx);
    await monitor.idle();
    expect(await db.repo.modelAlarms.open('m1')).toEqual([]);
    // Drifted images arrive: the 5th makes 5 of the last 20 (25 %) and opens the alarm, once.
    for (let i = 0; i < 8; i++) await log.record([entry(i % 2 ? 'good' : 'scratch', true)], ctx);
    await monitor.idle();
    const open = await db.repo.modelAlarms.open('m1');
    expect(open.map((a) => [a.rule, a.value, a.window])).toEqual([['drift_rate', 0.25, 20]]);
    await waitFor(() => received.length >= 1);
    expect(received[0]).toMatchObject({ event: 'alarm.raised', model: { id: 'm1', name: 'line-model' }, alarm: { rule: 'drift_rate', value: 0.25 } });
    // Calm again: once the drifted share is back under 20 %, the alarm closes (and that is posted too).
    for (let i = 0; i < 20; i++) await log.record([entry(i % 2 ? 'good' : 'scratch', false)], ctx);
    await monitor.idle();
    expect(await db.repo.modelAlarms.open('m1')).toEqual([]);
    const all = await db.repo.modelAlarms.list('m1');
    expect(all).toHaveLength(1);
    expect(all[0]?.clearedAt).toBeInstanceOf(Date);
    await webhook.idle();
    expect(received.map((r) => r.event)).toEqual(['alarm.raised', 'alarm.cleared']);

    // monitoring.get reads it all back: volume, drift, the alarm history, the rules' current values.
    const caller = makeCaller(db, new FakeRunnerControl(), { predictionLog: log, alarms: monitor, paths: { dataDir: modelsDir, datasetsRoot: modelsDir, modelsDir } });
    const view = await caller.monitoring.get({ modelId: 'm1', hours: 1 });
    expect(view.totals).toMatchObject({ predictions: 48, drifted: 8 });
    expect(view.trainingMix).toEqual({ good: 100, scratch: 100 });
    expect(view.drift?.threshold).toBe(1.5);
    expect(view.buckets.reduce((a, b) => a + b.count, 0)).toBe(48);
    expect(view.histogram.counts.reduce((a, b) => a + b, 0)).toBe(48);
    expect(view.recentAlarms).toHaveLength(1);
    expect(view.openAlarms).toEqual([]);
    expect(view.rules.find((r) => r.rule === 'drift_rate')).toMatchObject({ value: 0, firing: false });
  });

  it('rebuilds a model window from the log after a restart; a webhook that never answers is given up in the background', async () => {
    const log = testPredictionLog(db);
    const ctx = { model: { id: 'm1', version: 1 }, source: 'api' as const };
    // Logged before "the restart" with no evaluator: 15 predictions all 'good', 4 drifted.
    for (let i = 0; i < 15; i++) await log.record([entry('good', i < 4)], ctx);
    // A webhook URL on a port nobody listens on: every delivery fails, is retried, and gives up in the background.
    const webhook = new AlarmWebhook({ url: 'http://127.0.0.1:9/none', retries: 2, timeoutMs: 500, log: silentLogger, baseDelayMs: 10 });
    const monitor = wire(log, webhook);
    await log.record([entry('good', true)], ctx);
    await monitor.idle();
    // The window read back from the log: 16 predictions, 5 drifted (31 %), all one class (distance 0.5).
    const open = await db.repo.modelAlarms.open('m1');
    expect(open.map((a) => a.rule).sort()).toEqual(['class_mix', 'drift_rate']);
    expect(open.find((a) => a.rule === 'drift_rate')?.window).toBe(16);
    await webhook.idle();
  });
});
