/**
 * Runs end to end: real web server + runner + headless Chromium, real training on a tiny generated
 * dataset. Covers live monitoring (node states, growing loss curve), the report (confusion cell →
 * images), history + compare, cancel, and a deployed model answering a prediction.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateSampleDataset } from '@defectflow/engine';
import type { PipelineGraph } from '@defectflow/nodes';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, launchBrowser, startApp } from '../src/harness.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DATASET = 'e2e-steel';
const CLASSES = ['crazing', 'patches', 'scratches'] as const;
const PORT = 3531;
const RUNNER_PORT = 3532;

/** The tiny pipeline with this suite's dataset; tests vary train, head and freeze params. */
function smallGraph(
  train: Record<string, unknown> = {},
  head: Record<string, unknown> = {},
  freeze: Record<string, unknown> = { mode: 'all' },
): PipelineGraph {
  return tinyTransferGraph({
    dataset: { path: DATASET, valRatio: 0.2, testRatio: 0.25, seed: 1 },
    freeze,
    head: { hidden: 32, dropout: 0.1, ...head },
    train: { epochs: 12, batchSize: 4, learningRate: 0.003, earlyStopping: false, schedule: 'constant', seed: 1, ...train },
    deploy: { name: 'e2e-steel-model', gateMetric: 'none' },
  });
}

/** Starts a run through the web API (the first test starts one from the editor's Run button instead). */
async function startRun(app: AppHandle, graph: PipelineGraph, productLineId?: string): Promise<string> {
  const res = await app.trpc<{ ok: boolean; runId?: string; errors?: unknown }>('runs.start', { graph, productLineId }, 'mutation');
  if (!res.ok || !res.runId) throw new Error(`runs.start refused the graph: ${JSON.stringify(res.errors)}`);
  return res.runId;
}

/** Waits for the run panel's status badge to read `status`. */
async function waitForStatus(page: Page, status: string, timeout = 240_000): Promise<void> {
  await page.waitForSelector(`[data-testid="run-status"][data-status="${status}"]`, { timeout });
}

describe('runs: live monitoring, report, history, compare, cancel, models', () => {
  let dataDir: string;
  let app: AppHandle;
  let productLineId: string | undefined;
  let browser: Browser;
  let page: Page;
  let firstRunId = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'defectflow-runs-e2e-'));
    const datasetsRoot = path.join(dataDir, 'datasets');
    mkdirSync(datasetsRoot, { recursive: true });
    await generateSampleDataset(path.join(datasetsRoot, DATASET), { perClass: 20, size: 64, seed: 3, classes: [...CLASSES] });
    app = await startApp({ port: PORT, runnerPort: RUNNER_PORT, dataDir });
    await app.waitForRunner();
    productLineId = (await app.trpc<{ id: string }[]>('productLines.list'))[0]?.id;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('runs a pipeline from the editor: node states change, the loss curve gains points, the run finishes', async () => {
    const { id: pipelineId } = await app.trpc<{ id: string }>(
      'pipelines.save',
      { productLineId, name: 'e2e small steel', graph: smallGraph() },
      'mutation',
    );
    await page.goto(`${app.url}/editor?pipeline=${pipelineId}`);
    await page.waitForSelector('[data-testid="editor"][data-ready="true"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="run-button"]:not([disabled])', { timeout: 30_000 });
    // Record what the user sees over time: node badges on the canvas, run status, points on the loss chart.
    await page.evaluate(() => {
      const w = window as unknown as { __seen: { status: string; points: number; states: string }[] };
      w.__seen = [];
      const sample = () => {
        const status = document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? '';
        const points = Number(document.querySelector('[data-testid="loss-curve"]')?.getAttribute('data-points') ?? 0);
        const states = [...document.querySelectorAll('[data-testid="node-run-state"]')]
          .map((el) => el.className)
          .join(',');
        const last = w.__seen[w.__seen.length - 1];
        if (!last || last.status !== status || last.points !== points || last.states !== states)
          w.__seen.push({ status, points, states });
      };
      new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, attributes: true });
      sample();
    });
    await page.click('[data-testid="run-button"]');
    await page.waitForSelector('[data-testid="run-panel"][data-run-id]', { timeout: 30_000 });
    firstRunId = (await page.getAttribute('[data-testid="run-panel"]', 'data-run-id')) ?? '';
    expect(firstRunId).not.toBe('');
    await waitForStatus(page, 'succeeded');

    const seen = await page.evaluate(
      () => (window as unknown as { __seen: { status: string; points: number; states: string }[] }).__seen,
    );
    // The canvas badges went through several states (queued → running → done) while the run went on.
    expect(new Set(seen.map((s) => s.states).filter(Boolean)).size).toBeGreaterThan(2);
    expect(seen.some((s) => s.states.includes('run-running'))).toBe(true);
    // The curve grew while the run was still running, monotonically, not in one jump at the end.
    const counts = seen.map((s) => s.points);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(seen.some((s) => s.status === 'running' && s.points > 0)).toBe(true);
    expect(new Set(counts.filter((c) => c > 0)).size).toBeGreaterThan(1);
    // 12 epochs: 12 train-loss and 12 val-loss points, plus the per-batch points.
    const finalPoints = Number(await page.getAttribute('[data-testid="loss-curve"]', 'data-points'));
    expect(finalPoints).toBeGreaterThanOrEqual(36);
    // ECharts draws the curves (SVG paths) and shows the values under the pointer.
    const loss = page.locator('[data-testid="loss-curve"] [role="img"]');
    expect(await loss.locator('svg path').count()).toBeGreaterThan(3);
    const box = (await loss.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.4);
    await expect.poll(() => loss.textContent(), { timeout: 5_000 }).toMatch(/loss\s*\d+\.\d{4}/);

    // The run's own page: every node done, backend named.
    await page.goto(`${app.url}/runs/${firstRunId}`);
    await waitForStatus(page, 'succeeded', 30_000);
    // The row may say "succeeded" before the event history has streamed in: wait for the node rows.
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('[data-testid^="node-state-"]')].every((el) =>
          ['done', 'cached'].includes(el.getAttribute('data-state') ?? ''),
        ),
      undefined,
      { timeout: 30_000 },
    );
    const finalStates = await page.$$eval('[data-testid^="node-state-"]', (els) => els.map((e) => e.getAttribute('data-state')));
    expect(finalStates).toHaveLength(7);
    expect(finalStates.every((s) => s === 'done' || s === 'cached')).toBe(true);
    expect(await page.textContent('[data-testid="run-backend"]')).toMatch(/\w/);
  });

  it('shows the evaluation report; a confusion-matrix cell opens its images', async () => {
    await page.waitForSelector('[data-testid="evaluation-report"]', { timeout: 30_000 });
    const acc = await page.textContent('[data-testid="metric-accuracy"]');
    expect(acc).toMatch(/^\d+(\.\d)?%$/);
    const perClassRows = await page.$$('[data-testid="per-class-table"] tbody tr');
    expect(perClassRows).toHaveLength(CLASSES.length);
    // Click the cell holding the most images.
    const cells = await page.$$eval('[data-testid^="cm-cell-"]', (els) =>
      els.map((e) => ({ id: e.getAttribute('data-testid') ?? '', count: Number(e.getAttribute('data-count')) })),
    );
    expect(cells).toHaveLength(CLASSES.length ** 2);
    const total = cells.reduce((a, c) => a + c.count, 0);
    expect(total).toBe(await page.$$eval('[data-testid="per-class-table"] tbody tr td:last-child', (tds) =>
      tds.reduce((a, td) => a + Number(td.textContent), 0),
    ));
    const busiest = cells.reduce((a, b) => (b.count > a.count ? b : a));
    await page.click(`[data-testid="${busiest.id}"]`);
    await page.waitForSelector('[data-testid="cell-images"]');
    const images = await page.$$('[data-testid="cell-image"]');
    expect(images).toHaveLength(busiest.count);
    // The thumbnails really load (served by /api/images from the run's dataset).
    await page.waitForFunction(
      () => [...document.querySelectorAll<HTMLImageElement>('[data-testid="cell-image"] img')].every((i) => i.complete && i.naturalWidth > 0),
      undefined,
      { timeout: 30_000 },
    );
    const caption = await page.textContent('[data-testid="cell-image"] figcaption');
    expect(caption).toMatch(/true: \w+/);
    expect(caption).toMatch(/pred: \w+/);
    expect(caption).toMatch(/\d+\.\d%/);

    const shots = path.join(REPO_ROOT, 'docs', 'screenshots');
    mkdirSync(shots, { recursive: true });
    // From the top, so the sticky nav bar is not painted over the middle of a full-page shot.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(shots, 'run.png'), fullPage: true });
  });

  // Issue 20 item 2: a rerun of an unchanged graph showed "Test images 0", no matrix and empty curves.
  it('a rerun of the unchanged graph reuses every node and still shows the whole report and the curves', async () => {
    const rerunId = await startRun(app, smallGraph(), productLineId);
    await page.goto(`${app.url}/runs/${rerunId}`);
    await waitForStatus(page, 'succeeded', 60_000);
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid^="node-state-"]')].every((el) => el.getAttribute('data-state') === 'cached'),
      undefined,
      { timeout: 30_000 },
    );
    await page.waitForSelector('[data-testid="per-class-table"] tbody tr', { timeout: 30_000 });
    expect(await page.$$('[data-testid="per-class-table"] tbody tr')).toHaveLength(CLASSES.length);
    const cells = await page.$$eval('[data-testid^="cm-cell-"]', (els) => els.map((e) => Number(e.getAttribute('data-count'))));
    expect(cells).toHaveLength(CLASSES.length ** 2);
    expect(cells.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    // The curves are the original run's, and the page says where they come from.
    expect(await page.getAttribute('[data-testid="run-reused-training"] a', 'href')).toBe(`/runs/${firstRunId}`);
    await page.waitForFunction(
      () => Number(document.querySelector('[data-testid="loss-curve"]')?.getAttribute('data-points') ?? 0) >= 36,
      undefined,
      { timeout: 30_000 },
    );
    // The runs list shows its accuracy, like the original's.
    await page.goto(`${app.url}/runs`);
    await page.waitForSelector(`[data-testid="run-row"][data-run-id="${rerunId}"]`);
    expect(await page.textContent(`[data-testid="run-row"][data-run-id="${rerunId}"]`)).toMatch(/\d+(\.\d)?%/);
  });

  // Issue 20 item 4: reloading the editor mid-run lost the run panel and the node states.
  it('reloading the editor mid-run brings back the live run panel', async () => {
    const { id: pipelineId } = await app.trpc<{ id: string }>(
      'pipelines.save',
      // Fine-tuning part of the backbone keeps the run busy (no cached features) until it is cancelled.
      {
        productLineId,
        name: 'e2e reload',
        graph: smallGraph({ epochs: 100, batchSize: 2 }, { hidden: 48 }, { mode: 'upTo', upToBlock: 'block_3_expand_relu' }),
      },
      'mutation',
    );
    await page.goto(`${app.url}/editor?pipeline=${pipelineId}`);
    await page.waitForSelector('[data-testid="editor"][data-ready="true"]', { timeout: 60_000 });
    await page.waitForSelector('[data-testid="run-button"]:not([disabled])', { timeout: 30_000 });
    await page.click('[data-testid="run-button"]');
    await page.waitForSelector('[data-testid="run-panel"][data-run-id]', { timeout: 30_000 });
    const runId = (await page.getAttribute('[data-testid="run-panel"]', 'data-run-id')) ?? '';
    await page.reload();
    await page.waitForSelector('[data-testid="editor"][data-ready="true"]', { timeout: 60_000 });
    await page.waitForSelector(`[data-testid="run-panel"][data-run-id="${runId}"]`, { timeout: 30_000 });
    // The panel's status comes from the run's event history, which streams in after the reload.
    await waitForStatus(page, 'running', 30_000);
    // Node states come back on the canvas too.
    await page.waitForSelector('[data-testid="node-run-state"]', { timeout: 30_000 });
    await app.trpc('runs.cancel', { runId }, 'mutation');
    await waitForStatus(page, 'cancelled', 60_000);
  });

  it('lists a second run in history and compares it with the first, naming the changed parameter', async () => {
    const secondRunId = await startRun(app, smallGraph({ learningRate: 0.001, epochs: 4 }), productLineId);
    await page.goto(`${app.url}/runs/${secondRunId}`);
    await waitForStatus(page, 'succeeded');

    await page.goto(`${app.url}/runs`);
    await page.waitForSelector(`[data-testid="run-row"][data-run-id="${secondRunId}"]`);
    expect(await page.getAttribute(`[data-testid="run-row"][data-run-id="${firstRunId}"]`, 'data-status')).toBe('succeeded');
    await page.check(`[data-testid="select-${firstRunId}"]`);
    await page.check(`[data-testid="select-${secondRunId}"]`);
    await page.click('[data-testid="compare-button"]');
    await page.waitForURL(/\/runs\/compare\?ids=/);
    await page.waitForSelector('[data-testid="compare-diff"]');
    const diffRows = await page.$$eval('[data-testid="diff-row"]', (rows) => rows.map((r) => r.textContent ?? ''));
    expect(diffRows.some((r) => r.includes('learningRate') && r.includes('0.003') && r.includes('0.001'))).toBe(true);
    expect(diffRows.some((r) => r.includes('epochs') && r.includes('12') && r.includes('4'))).toBe(true);
    expect(diffRows.some((r) => r.includes('dropout'))).toBe(false);
    // Both runs' curves are drawn on the overlaid chart.
    const series = await page.$$eval('[data-testid="compare-loss"] [data-series]', (gs) => gs.map((g) => g.getAttribute('data-series')));
    expect(series.filter((s) => s?.endsWith(' train'))).toHaveLength(2);
  });

  it('cancels a running run', async () => {
    // Fine-tuning part of the backbone makes each epoch slow (no cached features) with few events.
    const runId = await startRun(
      app,
      smallGraph({ epochs: 100, batchSize: 2 }, { hidden: 64 }, { mode: 'upTo', upToBlock: 'block_3_expand_relu' }),
      productLineId,
    );
    await page.goto(`${app.url}/runs/${runId}`, { waitUntil: 'domcontentloaded' });
    // Cancel once training has produced points, so the cancel hits a busy run.
    await page.waitForFunction(
      () =>
        Number(document.querySelector('[data-testid="loss-curve"]')?.getAttribute('data-points') ?? 0) > 0 ||
        ['failed', 'succeeded'].includes(document.querySelector('[data-testid="run-status"]')?.getAttribute('data-status') ?? ''),
      undefined,
      { timeout: 120_000 },
    );
    expect(await page.getAttribute('[data-testid="run-status"]', 'data-status')).toBe('running');
    await page.click('[data-testid="run-cancel"]');
    await waitForStatus(page, 'cancelled', 60_000);
    expect(await page.$('[data-testid="run-cancel"]')).toBeNull();
  });

  it('a deployed model answers a prediction for an uploaded image', async () => {
    await page.goto(`${app.url}/models`);
    await page.waitForSelector('[data-testid="model-row"]');
    const href = await page.getAttribute('[data-testid="model-row"] a[href^="/models/"]', 'href');
    expect(href).toBeTruthy();
    await page.goto(`${app.url}${href}`);
    await page.waitForSelector('[data-testid="model-detail"]');
    const archive = await page.getAttribute('[data-testid="model-download"]', 'href');
    expect(archive).toMatch(/^\/api\/models\/[^/]+\/archive$/);

    const classDir = path.join(dataDir, 'datasets', DATASET, 'scratches');
    const file = readdirSync(classDir).find((f) => f.endsWith('.png'));
    if (!file) throw new Error(`no image in ${classDir}`);
    await page.setInputFiles('[data-testid="predict-input"]', path.join(classDir, file));
    await page.waitForSelector('[data-testid="prediction"], [data-testid="predict-error"]', { timeout: 60_000 });
    const predictError = await page.$('[data-testid="predict-error"]');
    if (predictError) throw new Error(`models.predict failed: ${await predictError.textContent()}`);
    const label = await page.getAttribute('[data-testid="prediction"]', 'data-label');
    expect(CLASSES as readonly (string | null)[]).toContain(label);
    const text = await page.textContent('[data-testid="prediction"]');
    expect(text).toContain(file);
    expect(text).toMatch(/\d+\.\d%/);
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', 'model.png'), fullPage: true });
  });
});
