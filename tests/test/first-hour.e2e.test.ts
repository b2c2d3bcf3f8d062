/**
 * Issue 20, "the first hour of a new user", in a browser at 1440×900 against the real server and runner:
 * the editor's canvas stays readable (zoom, minimap, run drawer refit, one-line toolbar), the small
 * papercuts (model names and archive name, prediction cards, cancelled badge, paste position, field
 * errors, "saved" on a new pipeline, datasets.versions NOT_FOUND), and the missing pieces (run names and
 * notes, pipeline/template column and filter, links from a run, run and model deletion, production model,
 * product lines in the navigation, confusion matrices side by side, an enlarged thumbnail).
 *
 * FIRST_HOUR_SHOTS=<dir> also saves a screenshot of each screen there.
 */
import { mkdirSync, readdirSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import type { PipelineGraph } from '@defectflow/nodes';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, launchBrowser, startApp } from '../src/harness.ts';
import { waitForRunEnd } from '../src/reliability.ts';
import { openBusiestCellImage } from '../src/report.ts';

const DATASET = 'fh-steel';
/** A class name longer than a prediction card is wide. */
const LONG_CLASS = 'scratches-along-the-rolling-direction';
const CLASSES = ['crazing', 'patches', LONG_CLASS];
const SHOTS = process.env.FIRST_HOUR_SHOTS;

type Box = { x: number; y: number; width: number; height: number };
const overlaps = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

async function box(locator: Locator): Promise<Box> {
  const b = await locator.boundingBox();
  if (!b) throw new Error(`no bounding box for ${locator}`);
  return b;
}

/** The React Flow viewport's zoom and translation. */
async function viewport(page: Page): Promise<{ zoom: number; x: number; y: number }> {
  const t = await page.$eval('.react-flow__viewport', (el) => getComputedStyle(el).transform);
  const m = /matrix\(([^)]+)\)/.exec(t);
  if (!m) throw new Error(`unexpected viewport transform ${t}`);
  const [a, , , , e, f] = m[1]!.split(',').map(Number);
  return { zoom: a!, x: e!, y: f! };
}

async function nodeBoxes(page: Page): Promise<Box[]> {
  return Promise.all((await page.locator('.react-flow__node').all()).map(box));
}

async function shot(page: Page, name: string) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

async function waitForEditor(page: Page) {
  await page.waitForSelector('[data-testid="editor"][data-ready="true"]', { timeout: 60_000 });
  await page.locator('.react-flow__node').first().waitFor();
}

/** The run's final status (reliability.ts's poll, which also retries while the API is briefly down). */
async function waitForRun(app: AppHandle, runId: string): Promise<string> {
  return (await waitForRunEnd(app, runId, 180_000)).status;
}

function graph(train: Record<string, unknown> = {}, freeze?: Record<string, unknown>): PipelineGraph {
  return tinyTransferGraph({
    dataset: { path: DATASET, valRatio: 0.2, testRatio: 0.25, seed: 1 },
    head: { hidden: 16, dropout: 0 },
    freeze,
    train: { epochs: 3, batchSize: 8, learningRate: 0.003, earlyStopping: false, schedule: 'constant', seed: 1, ...train },
    deploy: {}, // the default name: the model is named after the pipeline
  });
}

describe('the first hour of a new user (issue 20)', () => {
  let dataDir: string;
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let lineId = '';
  let samplePipelineId = '';
  let pipelineId = '';
  let firstRunId = '';
  let secondRunId = '';
  let modelId = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'defectflow-first-hour-'));
    const root = path.join(dataDir, 'datasets', DATASET);
    await generateSampleDataset(root, { perClass: 12, size: 64, seed: 5, classes: ['crazing', 'patches', 'scratches'] });
    renameSync(path.join(root, 'scratches'), path.join(root, LONG_CLASS));
    app = await startApp({ dataDir });
    await app.waitForRunner();
    const lines = await app.trpc<{ id: string; name: string }[]>('productLines.list');
    lineId = lines.find((l) => l.name === 'Hot-rolled steel strip')?.id ?? lines[0]!.id;
    const pipelines = await app.trpc<{ id: string; name: string }[]>('pipelines.list', { productLineId: lineId });
    samplePipelineId = pipelines[0]!.id;
    ({ id: pipelineId } = await app.trpc<{ id: string }>(
      'pipelines.save',
      { productLineId: lineId, name: 'First hour steel', graph: graph() },
      'mutation',
    ));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  // Item 8 and the toolbar/field-error parts of item 10.
  it('the default pipeline opens readable; the toolbar stays on one line; field errors read like sentences', async () => {
    await page.goto(`${app.url}/editor?pipeline=${samplePipelineId}`);
    await waitForEditor(page);
    await expect.poll(async () => (await viewport(page)).zoom, { timeout: 10_000 }).toBeGreaterThanOrEqual(0.69);
    const canvas = await box(page.getByTestId('canvas'));
    // The first node is in view, and the minimap covers no node.
    const dataset = await box(page.getByTestId('node-dataset'));
    expect(dataset.x).toBeGreaterThanOrEqual(canvas.x);
    expect(dataset.y + dataset.height).toBeLessThanOrEqual(canvas.y + canvas.height);
    const minimap = await box(page.locator('.react-flow__minimap'));
    for (const b of await nodeBoxes(page)) expect(overlaps(b, minimap)).toBe(false);
    // Zoomed out by hand, "Fit view" comes back to a readable zoom.
    await page.locator('.react-flow__controls-zoomout').click();
    await page.locator('.react-flow__controls-zoomout').click();
    await expect.poll(async () => (await viewport(page)).zoom).toBeLessThan(0.6);
    await page.getByRole('toolbar', { name: 'Editor toolbar' }).getByRole('button', { name: 'Fit view' }).click();
    await expect.poll(async () => (await viewport(page)).zoom).toBeGreaterThanOrEqual(0.69);

    // One line at 1440 px, and it stays one line when markers appear (no jump of the canvas).
    const toolbar = await box(page.getByRole('toolbar', { name: 'Editor toolbar' }));
    expect(toolbar.height).toBeLessThanOrEqual(45);
    await page.getByTestId('node-train').click();
    const epochs = page.getByTestId('inspector').locator('#dfe-param-epochs');
    await epochs.fill('0');
    await expect.poll(() => page.getByTestId('field-epochs').getByTestId('field-error').textContent()).toBe('Must be at least 1 (it is 0).');
    await epochs.fill('');
    await expect
      .poll(() => page.getByTestId('field-epochs').getByTestId('field-error').textContent())
      .toMatch(/^Is required \(an integer from 1 to \d+\)\.$/);
    await page.getByTestId('dirty-marker').waitFor();
    await page.getByTestId('run-blocker').waitFor();
    // The editor page itself never scrolls (a hidden toggle input used to stretch it to ~1250 px).
    expect(await page.evaluate(() => document.scrollingElement!.scrollHeight)).toBeLessThanOrEqual(900);
    expect((await box(page.getByRole('toolbar', { name: 'Editor toolbar' }))).height).toBe(toolbar.height);
    expect((await box(page.getByTestId('canvas'))).y).toBe(canvas.y);
    await shot(page, 'editor-toolbar-errors');
    await epochs.fill('3');
    await page.getByTestId('run-blocker').waitFor({ state: 'detached' });
  });

  it('the run drawer takes space from the canvas (not over it) and the graph is fitted again on open and collapse', async () => {
    const before = await viewport(page);
    const canvasBefore = await box(page.getByTestId('canvas'));
    // sample-steel is not generated in tests: the run fails at its dataset node, which is all this needs.
    await page.getByTestId('run-button').click();
    const drawer = page.getByTestId('run-drawer');
    await drawer.waitFor();
    await expect.poll(async () => (await box(page.getByTestId('canvas'))).height).toBeLessThan(canvasBefore.height - 100);
    await expect.poll(async () => (await viewport(page)).y).not.toBe(before.y);
    await page.waitForTimeout(300); // the refit animates for 150 ms
    const canvas = await box(page.getByTestId('canvas'));
    const drawerBox = await box(drawer);
    expect(canvas.y + canvas.height).toBeLessThanOrEqual(drawerBox.y + 1);
    for (const b of await nodeBoxes(page)) {
      expect(overlaps(b, drawerBox)).toBe(false);
      expect(b.y + b.height).toBeLessThanOrEqual(canvas.y + canvas.height);
    }
    expect((await viewport(page)).zoom).toBeGreaterThanOrEqual(0.69);
    // A small canvas has no minimap to cover the graph.
    expect(await page.locator('.react-flow__minimap').count()).toBe(0);
    await shot(page, 'editor-drawer-open');

    const open = await viewport(page);
    await drawer.getByRole('button', { name: 'Collapse' }).click();
    await expect.poll(async () => (await box(page.getByTestId('canvas'))).height).toBeGreaterThan(canvas.height + 100);
    await expect.poll(async () => (await viewport(page)).y).not.toBe(open.y);
    await page.waitForTimeout(300);
    const grown = await box(page.getByTestId('canvas'));
    for (const b of await nodeBoxes(page)) expect(b.y + b.height).toBeLessThanOrEqual(grown.y + grown.height);
    await drawer.getByRole('button', { name: 'Close run panel' }).click();
  });

  it('a never-saved pipeline says so; datasets.versions of an unknown dataset is NOT_FOUND naming it', async () => {
    await page.goto(`${app.url}/editor?productLine=${lineId}`);
    await page.waitForSelector('[data-testid="editor"][data-ready="true"]', { timeout: 60_000 });
    await page.getByTestId('never-saved-marker').waitFor();
    expect(await page.getByTestId('saved-marker').count()).toBe(0);
    await expect(app.trpc('datasets.versions', { name: 'no-such-dataset' })).rejects.toThrow(
      'datasets.versions: NOT_FOUND Dataset no-such-dataset does not exist under the datasets folder',
    );
  });

  it('a pasted node lands under the pointer, or offset from its original', async () => {
    await page.goto(`${app.url}/editor?pipeline=${pipelineId}`);
    await waitForEditor(page);
    const count = await page.locator('.react-flow__node').count();
    const original = await box(page.getByTestId('node-evaluate'));
    await page.getByTestId('node-evaluate').click();
    await page.keyboard.press('Control+c');
    const canvas = await box(page.getByTestId('canvas'));
    const at = { x: canvas.x + 320, y: canvas.y + canvas.height - 110 };
    await page.mouse.move(at.x, at.y);
    await page.keyboard.press('Control+v');
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(count + 1);
    const { zoom } = await viewport(page);
    const pasted = await box(page.locator('.react-flow__node.selected'));
    expect(Math.abs(pasted.x - (at.x - 40 * zoom))).toBeLessThan(15);
    expect(Math.abs(pasted.y - (at.y - 20 * zoom))).toBeLessThan(15);
    // Pointer off the canvas: next to the original, its title row still in sight.
    await page.mouse.move(20, 300);
    await page.keyboard.press('Control+v');
    await expect.poll(() => page.locator('.react-flow__node').count()).toBe(count + 2);
    const offset = await box(page.locator('.react-flow__node.selected'));
    expect(offset.x - original.x).toBeGreaterThanOrEqual(40 * zoom);
    expect(offset.y - original.y).toBeGreaterThanOrEqual(40 * zoom);
    await shot(page, 'editor-paste');
  });

  it('a cancelled run shows its running node as cancelled, not failed', async () => {
    const { id } = await app.trpc<{ id: string }>(
      'pipelines.save',
      { productLineId: lineId, name: 'First hour slow', graph: graph({ epochs: 100, batchSize: 2 }, { mode: 'upTo', upToBlock: 'block_3_expand_relu' }) },
      'mutation',
    );
    await page.goto(`${app.url}/editor?pipeline=${id}`);
    await waitForEditor(page);
    await page.waitForSelector('[data-testid="run-button"]:not([disabled])');
    await page.getByTestId('run-button').click();
    await page.getByTestId('node-train').getByTestId('node-run-state').filter({ hasText: 'Running' }).waitFor({ timeout: 120_000 });
    await page.getByTestId('run-cancel').click();
    await page.waitForSelector('[data-testid="run-status"][data-status="cancelled"]', { timeout: 60_000 });
    const badge = page.getByTestId('node-train').getByTestId('node-run-state');
    await expect.poll(() => badge.textContent()).toBe('Cancelled');
    expect(await badge.getAttribute('class')).toContain('run-cancelled');
    expect(await page.locator('.dfe-run-badge.run-failed').count()).toBe(0);
    await shot(page, 'editor-cancelled');
    const runId = (await page.getAttribute('[data-testid="run-panel"]', 'data-run-id')) ?? '';
    await page.goto(`${app.url}/runs/${runId}`);
    await page.waitForSelector('[data-testid="node-state-train"][data-state="cancelled"]', { timeout: 30_000 });
  });

  it('a model is named after its pipeline; its archive is <name>-<short id>.tar.gz; prediction cards show whole class names', async () => {
    const started = await app.trpc<{ ok: boolean; runId: string }>('runs.start', { graph: graph(), pipelineId }, 'mutation');
    firstRunId = started.runId;
    expect(await waitForRun(app, firstRunId)).toBe('succeeded');
    const models = await app.trpc<{ id: string; name: string; runId: string }[]>('models.list');
    const model = models.find((m) => m.runId === firstRunId);
    expect(model?.name).toBe('First hour steel');
    modelId = model!.id;
    const archive = await fetch(`${app.url}/api/models/${encodeURIComponent(modelId)}/archive`);
    expect(archive.headers.get('content-disposition')).toBe(`attachment; filename="First-hour-steel-${firstRunId.slice(0, 8)}.tar.gz"`);
    await archive.body?.cancel();

    await page.goto(`${app.url}/models/${encodeURIComponent(modelId)}`);
    await page.getByTestId('model-detail').waitFor();
    const dir = path.join(app.datasetsRoot, DATASET, LONG_CLASS);
    await page.setInputFiles('[data-testid="predict-input"]', path.join(dir, readdirSync(dir)[0]!));
    await page.getByTestId('prediction').waitFor({ timeout: 60_000 });
    const labels = await page.getByTestId('score-label').evaluateAll((els) =>
      els.map((el) => ({ text: el.textContent, title: el.getAttribute('title'), cut: el.scrollWidth > el.clientWidth + 1 })),
    );
    expect(labels.map((l) => l.text).sort()).toEqual([...CLASSES].sort());
    for (const l of labels) {
      expect(l.cut).toBe(false);
      expect(l.title).toBe(l.text);
    }
    await shot(page, 'model-prediction');
  });

  it('names a run and keeps notes; the runs list shows the name and the pipeline, and filters by it', async () => {
    await page.goto(`${app.url}/runs/${firstRunId}`);
    await page.getByTestId('run-rename').click();
    await page.getByTestId('run-name-input').fill('baseline lr 0.003');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('run-name').textContent()).toBe('baseline lr 0.003');
    await page.getByTestId('run-notes').fill('next: more epochs');
    await page.getByTestId('run-notes-save').click();
    await page.getByTestId('run-notes-save').waitFor({ state: 'detached' });
    await page.reload();
    await expect.poll(() => page.getByTestId('run-notes').inputValue()).toBe('next: more epochs');

    // Links from the run: its pipeline, the dataset version it trained on, its model.
    expect(await page.getByTestId('run-pipeline-link').getAttribute('href')).toBe(`/editor?pipeline=${pipelineId}`);
    expect(await page.getByTestId('run-dataset-link').getAttribute('href')).toBe(`/datasets/${DATASET}?version=1`);
    expect(await page.getByTestId('run-model-link').getAttribute('href')).toBe(`/models/${encodeURIComponent(modelId)}`);
    await shot(page, 'run-header');
    await page.getByTestId('run-dataset-link').click();
    await expect.poll(() => page.getByTestId('dataset-version').textContent(), { timeout: 30_000 }).toContain('version 1');

    // A run of the template itself is listed under the template, not under "no pipeline".
    const templates = await app.trpc<{ id: string; name: string }[]>('templates.list', { productLineId: lineId });
    const fromTemplate = await app.trpc<{ runId: string }>('runs.start', { graph: graph({ epochs: 1 }), templateId: templates[0]!.id }, 'mutation');

    await page.goto(`${app.url}/runs?productLine=${lineId}`);
    const row = page.locator(`[data-testid="run-row"][data-run-id="${firstRunId}"]`);
    await expect.poll(() => row.getByTestId('run-name-cell').textContent()).toContain('baseline lr 0.003');
    expect(await row.getByTestId('run-source-cell').textContent()).toBe('First hour steel');
    await page.getByTestId('filter-pipeline').selectOption(`p:${pipelineId}`);
    await page.waitForURL(/pipeline=/);
    await row.waitFor();
    expect(await page.getByTestId('runs-empty').count()).toBe(0);
    await page.getByTestId('filter-pipeline').selectOption(`t:${templates[0]!.id}`);
    await page.locator(`[data-testid="run-row"][data-run-id="${fromTemplate.runId}"]`).waitFor();
    expect(await page.locator(`[data-testid="run-row"][data-run-id="${fromTemplate.runId}"]`).getByTestId('run-source-cell').textContent()).toBe(
      `template ${templates[0]!.name}`,
    );
    await shot(page, 'runs-list');
    await waitForRun(app, fromTemplate.runId);
  });

  it('the editor lists the last runs of its pipeline and shows one in the run drawer', async () => {
    await page.goto(`${app.url}/editor?pipeline=${pipelineId}`);
    await waitForEditor(page);
    const item = page.getByTestId('editor-recent-runs').locator(`li[data-run-id="${firstRunId}"]`);
    await expect.poll(() => item.textContent(), { timeout: 15_000 }).toContain('baseline lr 0.003');
    await item.getByRole('button', { name: 'Show' }).click();
    await page.waitForSelector(`[data-testid="run-panel"][data-run-id="${firstRunId}"]`);
    await page.waitForSelector('[data-testid="run-status"][data-status="succeeded"]');
    await shot(page, 'editor-recent-runs');
    // A run started here joins the list at once (the list polls only every 20 s while nothing runs).
    await page.waitForSelector('[data-testid="run-button"]:not([disabled])');
    await page.getByTestId('run-button').click();
    await page.waitForSelector(`[data-testid="run-panel"]:not([data-run-id="${firstRunId}"])`, { timeout: 30_000 });
    const started = (await page.getAttribute('[data-testid="run-panel"]', 'data-run-id')) ?? '';
    await page.getByTestId('editor-recent-runs').locator(`li[data-run-id="${started}"]`).waitFor({ timeout: 5_000 });
    expect(await waitForRun(app, started)).toBe('succeeded');
  });

  it('compares two runs with their confusion matrices side by side; a thumbnail opens large', async () => {
    const started = await app.trpc<{ runId: string }>('runs.start', { graph: graph({ learningRate: 0.001, epochs: 2 }), pipelineId }, 'mutation');
    secondRunId = started.runId;
    expect(await waitForRun(app, secondRunId)).toBe('succeeded');
    await page.goto(`${app.url}/runs/compare?ids=${firstRunId},${secondRunId}`);
    const matrices = page.getByTestId('compare-matrix');
    await expect.poll(() => matrices.count(), { timeout: 30_000 }).toBe(2);
    const [a, b] = [await box(matrices.nth(0)), await box(matrices.nth(1))];
    expect(Math.abs(a.y - b.y)).toBeLessThan(2);
    expect(b.x).toBeGreaterThan(a.x + a.width - 1);
    for (const m of [matrices.nth(0), matrices.nth(1)]) expect(await m.locator('[data-testid^="cm-cell-"]').count()).toBe(CLASSES.length ** 2);
    await shot(page, 'compare');

    await page.goto(`${app.url}/runs/${firstRunId}`);
    const dialog = await openBusiestCellImage(page);
    await dialog.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('[data-testid="enlarged-img"]');
      return img?.complete && img.naturalWidth > 0;
    });
    expect((await box(dialog.getByTestId('enlarged-img'))).width).toBeGreaterThanOrEqual(300);
    expect(await dialog.getByTestId('enlarged-true').textContent()).toMatch(new RegExp(`true class (${CLASSES.join('|')})`));
    expect(await dialog.getByTestId('enlarged-pred').textContent()).toMatch(/predicted \S+ · \d+\.\d%/);
    await shot(page, 'enlarged-thumbnail');
    await page.keyboard.press('Escape');
  });

  it('renames a model, promotes it to production for its product line and deletes another with a confirmation', async () => {
    await page.goto(`${app.url}/models/${encodeURIComponent(modelId)}`);
    await page.getByTestId('model-rename').click();
    await page.getByTestId('model-name-input').fill('Steel strip v1');
    await page.getByTestId('model-name-save').click();
    await expect.poll(() => page.getByTestId('model-name').textContent()).toBe('Steel strip v1');
    await page.getByTestId('model-promote').click();
    await page.getByTestId('model-actions').locator('[data-testid="model-stage"][data-stage="production"]').waitFor();
    await shot(page, 'model-actions');
    await page.goto(`${app.url}/product-lines/${lineId}`);
    await expect.poll(() => page.getByTestId('product-line-active-model').textContent()).toContain('Steel strip v1');

    const second = (await app.trpc<{ id: string; runId: string }[]>('models.list')).find((m) => m.runId === secondRunId)!;
    await page.goto(`${app.url}/models/${encodeURIComponent(second.id)}`);
    await page.getByTestId('model-delete').click();
    await page.getByTestId('model-delete-confirm').click();
    await page.waitForURL(/\/models$/);
    await page.locator(`[data-testid="model-row"][data-model-id="${modelId}"]`).waitFor();
    expect(await page.locator(`[data-testid="model-row"][data-model-id="${second.id}"]`).count()).toBe(0);
  });

  it('deletes a run after listing what goes with it (its events and its model)', async () => {
    await page.goto(`${app.url}/runs/${firstRunId}`);
    await page.getByTestId('run-delete').click();
    const list = page.getByTestId('run-delete-list');
    await expect.poll(() => list.textContent()).toMatch(/its \d+ logged events/);
    expect(await list.textContent()).toContain('the model Steel strip v1 it deployed — the production model of its product line');
    await shot(page, 'run-delete');
    await page.getByTestId('run-delete-confirm').click();
    await page.waitForURL(/\/runs$/);
    await page.locator('[data-testid="run-row"]').first().waitFor();
    expect(await page.locator(`[data-testid="run-row"][data-run-id="${firstRunId}"]`).count()).toBe(0);
    await expect(app.trpc('models.get', { id: modelId })).rejects.toThrow(/NOT_FOUND/);
  });

  it('product lines are in the top navigation, and a product line title is a link', async () => {
    await page.goto(`${app.url}/`);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Product lines' }).click();
    await page.waitForURL(/\/product-lines$/);
    await page.goto(`${app.url}/`);
    await page.getByTestId('product-line-link').first().click();
    await page.waitForURL(/\/product-lines\/[^/]+$/);
    await page.getByTestId('product-line-name').waitFor();
    await shot(page, 'product-line');
  });
});
