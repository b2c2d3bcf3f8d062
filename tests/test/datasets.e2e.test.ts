/**
 * Datasets end to end: real web server + runner + headless Chromium. Uploads a zip of generated images
 * (one identical file in two classes) from the browser, sees the class counts and the duplicate warning,
 * trains a tiny pipeline on it, relabels a test image from the run's confusion matrix in one step, and
 * reruns: the second run trains on dataset version 2 and says so.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeZip } from '../../apps/web/test/zip-fixture.ts';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, launchBrowser, REPO_ROOT, startApp } from '../src/harness.ts';

const PORT = 3611;
const RUNNER_PORT = 3612;
const NAME = 'line3-plates';
const CLASSES = ['crazing', 'patches', 'scratches'] as const;
const PER_CLASS = 10;

/** Tiny transfer-learning pipeline on the uploaded dataset: three epochs, ends at evaluate. */
function tinyGraph(): PipelineGraph {
  return tinyTransferGraph({
    dataset: { path: NAME, valRatio: 0.2, testRatio: 0.3, seed: 1 },
    head: { hidden: 16, dropout: 0.1 },
    train: { epochs: 3, batchSize: 8, learningRate: 0.003, earlyStopping: false, schedule: 'constant', seed: 1 },
    deploy: false,
  });
}

async function runToEnd(app: AppHandle, graph: PipelineGraph): Promise<{ runId: string; events: RunEvent[] }> {
  const res = await app.trpc<{ ok: boolean; runId?: string; errors?: unknown }>('runs.start', { graph }, 'mutation');
  if (!res.ok || !res.runId) throw new Error(`runs.start refused the graph: ${JSON.stringify(res.errors)}`);
  const runId = res.runId;
  for (let i = 0; i < 600; i++) {
    const run = await app.trpc<{ status: string; error?: string | null }>('runs.get', { runId });
    if (run.status === 'failed' || run.status === 'cancelled') throw new Error(`run ${runId} ${run.status}: ${run.error ?? ''}`);
    if (run.status === 'succeeded') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { runId, events: await app.trpc<RunEvent[]>('runs.events', { runId }) };
}

function datasetSummary(events: RunEvent[]): Record<string, unknown> {
  const finished = events.find((e) => e.type === 'node.finished' && e.nodeId === 'dataset');
  if (finished?.type !== 'node.finished') throw new Error('the dataset node did not finish');
  return finished.summary as Record<string, unknown>;
}

describe('datasets: upload, inspect, relabel from a run, rerun on the new version', () => {
  let work: string;
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let zipPath: string;
  let firstRunId = '';

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'defectflow-datasets-e2e-'));
    const src = path.join(work, 'src');
    await generateSampleDataset(src, { perClass: PER_CLASS, size: 48, seed: 5, classes: [...CLASSES] });
    // The same file under two labels: the page must warn about it.
    const first = readdirSync(path.join(src, 'crazing')).sort()[0] as string;
    copyFileSync(path.join(src, 'crazing', first), path.join(src, 'patches', 'dup-of-crazing.png'));
    const entries = CLASSES.flatMap((c) =>
      readdirSync(path.join(src, c)).map((f) => ({ name: `plates/${c}/${f}`, data: readFileSync(path.join(src, c, f)) })),
    );
    zipPath = path.join(work, 'plates.zip');
    writeFileSync(zipPath, makeZip(entries));
    app = await startApp({ port: PORT, runnerPort: RUNNER_PORT });
    await app.waitForRunner();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('uploads a zip from the browser and shows counts and the duplicate warning', async () => {
    await page.goto(`${app.url}/datasets`);
    await page.setInputFiles('[data-testid="upload-zip-input"]', zipPath);
    await page.fill('[data-testid="upload-name"]', NAME);
    await page.click('[data-testid="upload-start"]');
    await page.waitForSelector('[data-testid="upload-done"]', { timeout: 60_000 });
    expect(await page.getAttribute('[data-testid="upload-progress"]', 'value')).toBe('100');
    await page.click(`[data-testid="upload-done"] a`);
    await page.waitForSelector('[data-testid="class-chart"]', { timeout: 60_000 });
    const counts = await page.$$eval('[data-testid="class-count"]', (els) =>
      Object.fromEntries(els.map((e) => [e.getAttribute('data-class'), Number(e.textContent)])),
    );
    expect(counts).toEqual({ crazing: PER_CLASS, patches: PER_CLASS + 1, scratches: PER_CLASS });
    expect(await page.textContent('[data-testid="dataset-version"]')).toContain('version 1');
    const dup = page.locator('[data-testid="dataset-warning"][data-code="duplicates_across_classes"]');
    expect(await dup.textContent()).toContain('patches/dup-of-crazing.png');
    // Thumbnails of the first class load.
    await page.waitForFunction(
      () => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('[data-testid="dataset-thumb"] img')];
        return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      undefined,
      { timeout: 30_000 },
    );
    mkdirSync(path.join(REPO_ROOT, 'docs', 'screenshots'), { recursive: true });
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', 'dataset.png'), fullPage: true });
    // A name that is taken is refused with a clear message.
    await page.goto(`${app.url}/datasets`);
    await page.setInputFiles('[data-testid="upload-zip-input"]', zipPath);
    await page.fill('[data-testid="upload-name"]', NAME);
    await page.click('[data-testid="upload-start"]');
    expect(await (await page.waitForSelector('[data-testid="upload-error"]')).textContent()).toContain(`"${NAME}" already exists`);
  });

  it('relabels an image from the run confusion matrix in one step', async () => {
    const first = await runToEnd(app, tinyGraph());
    firstRunId = first.runId;
    expect(datasetSummary(first.events)).toMatchObject({ version: 1 });
    await page.goto(`${app.url}/runs/${firstRunId}`);
    await page.waitForSelector('[data-testid="evaluation-report"]', { timeout: 60_000 });
    const cells = await page.$$eval('[data-testid^="cm-cell-"]', (els) =>
      els.map((e) => ({ id: e.getAttribute('data-testid') ?? '', count: Number(e.getAttribute('data-count')) })),
    );
    const cell = cells.find((c) => c.count > 0);
    if (!cell) throw new Error('the confusion matrix is empty');
    await page.click(`[data-testid="${cell.id}"]`);
    const itemId = (await page.getAttribute('[data-testid="cell-image"]', 'data-item-id')) ?? '';
    await page.click('[data-testid="cell-image"] [data-testid="relabel-link"]');
    await page.waitForSelector('[data-testid="item-focus-class"]', { timeout: 60_000 });
    expect(page.url()).toContain(`/datasets/${NAME}`);
    const before = (await page.textContent('[data-testid="item-focus-class"]')) ?? '';
    const to = CLASSES.find((c) => c !== before) as string;
    await page.selectOption('[data-testid="item-focus-class-select"]', to);
    await page.click('[data-testid="item-focus-relabel"]');
    await page.waitForFunction(
      () => document.querySelector('[data-testid="dataset-version"]')?.textContent?.includes('version 2'),
      undefined,
      { timeout: 30_000 },
    );
    expect(await page.textContent('[data-testid="item-focus-class"]')).toBe(to);
    const v2 = await app.trpc<{ items: { id: string; className: string }[] }>('datasets.inspect', { name: NAME });
    expect(v2.items.find((i) => i.id === itemId)?.className).toBe(to);
    // Version 1 is unchanged.
    const v1 = await app.trpc<{ items: { id: string; className: string }[] }>('datasets.inspect', { name: NAME, version: 1 });
    expect(v1.items.find((i) => i.id === itemId)?.className).toBe(before);
    const history = await page.$$('[data-testid="dataset-version-row"]');
    expect(history).toHaveLength(2);
  });

  it('a rerun trains on version 2 and states it; the first run still states version 1', async () => {
    const second = await runToEnd(app, tinyGraph());
    expect(datasetSummary(second.events)).toMatchObject({ version: 2 });
    const run = await app.trpc<{ graph: PipelineGraph }>('runs.get', { runId: second.runId });
    expect(run.graph.nodes.find((n) => n.type === 'dataset')?.params.version).toBe(2);
    const first = await app.trpc<{ graph: PipelineGraph }>('runs.get', { runId: firstRunId });
    expect(first.graph.nodes.find((n) => n.type === 'dataset')?.params.version).toBe(1);
  });
});
