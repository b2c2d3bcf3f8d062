/**
 * The pipeline editor end to end: real web server + headless Chromium. Builds the whole pipeline by
 * dragging the eight node types from the palette and wiring handles with the mouse, sees a refused
 * connection explained, fixes a parameter error, undoes/redoes, exports and re-imports the JSON, saves
 * template versions, diffs and restores one, and instantiates the template for a second product line.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PipelineGraph, validateGraph } from '@defectflow/nodes';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, startApp } from '../src/harness.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TEMPLATE_NAME = 'E2E strip template';

/** Where each palette node is dropped, in canvas pixels (the canvas starts at zoom 1, origin top-left). */
const DROPS: { type: string; x: number; y: number }[] = [
  { type: 'dataset', x: 30, y: 40 },
  { type: 'augment', x: 300, y: 40 },
  { type: 'backbone', x: 30, y: 300 },
  { type: 'freeze', x: 300, y: 300 },
  { type: 'head', x: 570, y: 300 },
  { type: 'train', x: 570, y: 40 },
  { type: 'evaluate', x: 840, y: 40 },
  { type: 'deploy', x: 1110, y: 170 },
];

/** [source node, output port, target node, input port] — the default pipeline's wiring. */
const WIRES: [string, string, string, string][] = [
  ['dataset-1', 'dataset', 'augment-1', 'dataset'],
  ['augment-1', 'dataset', 'train-1', 'dataset'],
  ['backbone-1', 'backbone', 'freeze-1', 'backbone'],
  ['freeze-1', 'backbone', 'head-1', 'backbone'],
  ['head-1', 'model', 'train-1', 'model'],
  ['train-1', 'trained', 'evaluate-1', 'trained'],
  ['dataset-1', 'dataset', 'evaluate-1', 'dataset'],
  ['train-1', 'trained', 'deploy-1', 'trained'],
  ['evaluate-1', 'metrics', 'deploy-1', 'metrics'],
];

const node = (page: Page, id: string) => page.getByTestId(`node-${id}`);
const handle = (page: Page, id: string, side: 'in' | 'out', port: string) =>
  node(page, id).getByTestId(`handle-${side}-${port}`);

async function centre(locator: Locator): Promise<{ x: number; y: number }> {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`no bounding box for ${locator.toString()}`);
  return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
}

/** Drag from one handle to another with real mouse events, as a user wires a connection. */
async function wire(page: Page, from: Locator, to: Locator) {
  const a = await centre(from);
  const b = await centre(to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x, b.y, { steps: 5 });
  await page.mouse.up();
}

async function edgeCount(page: Page): Promise<number> {
  return page.locator('.react-flow__edge').count();
}

/** Clicks an empty spot of the canvas: deselects everything and takes focus out of any field. */
async function clickEmptyCanvas(page: Page) {
  const pane = page.locator('.react-flow__pane');
  const box = await pane.boundingBox();
  if (!box) throw new Error('no canvas pane');
  await page.mouse.click(box.x + box.width - 260, box.y + box.height - 40);
}

async function expectNotice(page: Page, pattern: RegExp) {
  await page.getByTestId('notice').filter({ hasText: pattern }).waitFor({ timeout: 10_000 });
}

async function waitForEditor(page: Page) {
  await page.locator('[data-testid="editor"][data-ready="true"]').waitFor({ timeout: 60_000 });
  await page.getByTestId('palette-dataset').waitFor();
}

describe('pipeline editor', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  let browser: Browser;
  let page: Page;
  let lineA: { id: string; name: string };
  let lineB: { id: string; name: string };
  let exported: PipelineGraph;

  beforeAll(async () => {
    app = await startApp();
    // A second line's images live in their own folder under DATASETS_ROOT.
    mkdirSync(path.join(app.datasetsRoot, 'coil-images'), { recursive: true });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1680, height: 940 }, acceptDownloads: true });
    // Leaving with unsaved changes asks first; the test always means to leave.
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  it('creates and renames product lines on /product-lines', async () => {
    await page.goto(`${app.url}/product-lines`);
    for (const name of ['E2E strip line', 'E2E coil line (draft)']) {
      await page.getByLabel('Product line name').fill(name);
      await page.getByRole('button', { name: 'Create' }).click();
      await page.getByRole('link', { name, exact: true }).waitFor();
    }
    const row = page
      .getByTestId('product-line-row')
      .filter({ has: page.getByRole('link', { name: 'E2E coil line (draft)', exact: true }) });
    await row.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('E2E coil line');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('link', { name: 'E2E coil line', exact: true }).waitFor();

    const lines = await app.trpc<{ id: string; name: string }[]>('productLines.list');
    lineA = lines.find((l) => l.name === 'E2E strip line') as { id: string; name: string };
    lineB = lines.find((l) => l.name === 'E2E coil line') as { id: string; name: string };
    expect(lineA).toBeDefined();
    expect(lineB).toBeDefined();
  });

  it('builds the whole pipeline from the palette by drag and drop, wiring handles with the mouse', async () => {
    await page.goto(`${app.url}/editor?productLine=${encodeURIComponent(lineA.id)}`);
    await waitForEditor(page);
    // The palette is drawn from the registry: eight node types in four categories.
    await expect(page.locator('.dfe-palette-item').count()).resolves.toBe(8);

    const canvas = page.getByTestId('canvas');
    for (const { type, x, y } of DROPS) {
      await page.getByTestId(`palette-${type}`).dragTo(canvas, { targetPosition: { x: x + 40, y: y + 20 } });
      await node(page, `${type}-1`).waitFor();
    }
    await expect(page.locator('.react-flow__node').count()).resolves.toBe(8);
    // Handles are coloured by port type.
    const datasetColor = await handle(page, 'dataset-1', 'out', 'dataset').evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(datasetColor).toBe('rgb(47, 158, 68)');

    for (const [i, [source, out, target, inp]] of WIRES.entries()) {
      await wire(page, handle(page, source, 'out', out), handle(page, target, 'in', inp));
      await expect.poll(() => edgeCount(page), { timeout: 5000 }).toBe(i + 1);
    }
    await clickEmptyCanvas(page);
    await page.getByTestId('graph-valid').waitFor();
    await expect(page.getByTestId('run-button').isEnabled()).resolves.toBe(true);
  });

  it('refuses a connection between different port types and says why', async () => {
    // Dataset output onto the head's Backbone input.
    await wire(page, handle(page, 'dataset-1', 'out', 'dataset'), handle(page, 'head-1', 'in', 'backbone'));
    await expectNotice(page, /Connection refused: .*takes Backbone, not Dataset/);
    expect(await edgeCount(page)).toBe(WIRES.length);
  });

  it('shows a parameter error on the node and in the inspector until it is fixed', async () => {
    await node(page, 'train-1').click();
    const epochs = page.getByTestId('inspector').locator('#dfe-param-epochs');
    await epochs.fill('0');
    await node(page, 'train-1').getByTestId('node-error-badge').waitFor();
    await page.getByTestId('field-epochs').getByTestId('field-error').waitFor();
    await expect(page.getByTestId('run-button').isDisabled()).resolves.toBe(true);
    await page.getByTestId('run-blocker').waitFor();

    await epochs.fill('5');
    await node(page, 'train-1').getByTestId('node-error-badge').waitFor({ state: 'detached' });
    await expect(page.getByTestId('run-button').isEnabled()).resolves.toBe(true);
    await expect(node(page, 'train-1').locator('.dfe-node-summary').textContent()).resolves.toContain('epochs 5');
  });

  it('undoes and redoes: a field edit is one step, a delete is one step', async () => {
    await clickEmptyCanvas(page);
    // The edits 0 then 5 happened in one focus of the field: one undo step back to the default.
    await page.keyboard.press('Control+z');
    await expect.poll(() => node(page, 'train-1').locator('.dfe-node-summary').textContent()).not.toContain('epochs 5');
    await page.keyboard.press('Control+Shift+z');
    await expect.poll(() => node(page, 'train-1').locator('.dfe-node-summary').textContent()).toContain('epochs 5');

    await node(page, 'evaluate-1').click();
    await clickEmptyCanvas(page);
    await node(page, 'evaluate-1').click();
    await page.keyboard.press('Delete');
    await node(page, 'evaluate-1').waitFor({ state: 'detached' });
    expect(await edgeCount(page)).toBe(WIRES.length - 3);
    await page.getByRole('button', { name: /Undo/ }).click();
    await node(page, 'evaluate-1').waitFor();
    await expect.poll(() => edgeCount(page)).toBe(WIRES.length);
    await page.getByRole('button', { name: /Redo/ }).click();
    await node(page, 'evaluate-1').waitFor({ state: 'detached' });
    await page.keyboard.press('Control+z');
    await node(page, 'evaluate-1').waitFor();
  });

  it('exports the graph as PipelineGraph v1 JSON and imports it back', async () => {
    await page.getByLabel('Pipeline name').fill(TEMPLATE_NAME);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      (async () => {
        await page.getByRole('button', { name: 'Import or export JSON' }).click();
        await page.getByRole('menuitem', { name: 'Export JSON' }).click();
      })(),
    ]);
    const file = await download.path();
    exported = JSON.parse(readFileSync(file, 'utf8')) as PipelineGraph;
    expect(exported.version).toBe(1);
    expect(exported.nodes.map((n) => n.type).sort()).toEqual(DROPS.map((d) => d.type).sort());
    expect(exported.edges).toHaveLength(WIRES.length);
    expect(exported.nodes.find((n) => n.id === 'train-1')?.params.epochs).toBe(5);
    // The same file the CLI runs: valid as a whole.
    expect(validateGraph(exported).errors).toEqual([]);

    // Broken JSON is refused with a clear message, and the canvas is left alone.
    await page.getByTestId('import-input').setInputFiles({
      name: 'broken.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{"version": 1, "nodes": ['),
    });
    await expectNotice(page, /Import failed — broken\.json: .*not valid JSON/);
    expect(await page.locator('.react-flow__node').count()).toBe(8);

    // Re-import the export with one change: it replaces the canvas (as one undoable step).
    const changed = structuredClone(exported);
    const train = changed.nodes.find((n) => n.id === 'train-1');
    if (train) train.params.epochs = 7;
    await page.getByTestId('import-input').setInputFiles({
      name: 'pipeline.json',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(changed)),
    });
    await expectNotice(page, /Imported pipeline\.json: 8 nodes, 9 connections/);
    await expect.poll(() => node(page, 'train-1').locator('.dfe-node-summary').textContent()).toContain('epochs 7');
    // Edges render a frame after their nodes.
    await expect.poll(() => edgeCount(page)).toBe(WIRES.length);
  });

  it('takes a screenshot of the full pipeline', async () => {
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.getByTestId('notice').getByRole('button', { name: 'Dismiss' }).click();
    await page.getByRole('button', { name: 'Auto-layout' }).click();
    await node(page, 'train-1').click();
    await page.waitForTimeout(500);
    mkdirSync(path.join(REPO_ROOT, 'docs', 'screenshots'), { recursive: true });
    await page.screenshot({ path: path.join(REPO_ROOT, 'docs', 'screenshots', 'editor.png') });
    await page.setViewportSize({ width: 1680, height: 940 });
  });

  it('saves template versions, diffs two of them and restores the older one', async () => {
    const saveVersion = async (message: string) => {
      await page.getByRole('button', { name: 'Save as template version' }).click();
      await page.getByTestId('template-dialog').locator('textarea').fill(message);
      await page.getByRole('button', { name: 'Save version' }).click();
    };
    await saveVersion('first version');
    await expectNotice(page, new RegExp(`Saved template “${TEMPLATE_NAME}” version 1`));
    await page.getByTestId('saved-marker').waitFor();
    await page.waitForURL(/template=/);

    await node(page, 'train-1').click();
    await page.getByTestId('inspector').locator('#dfe-param-epochs').fill('9');
    await page.getByTestId('dirty-marker').waitFor();
    await saveVersion('more epochs');
    await expectNotice(page, /version 2/);

    await page.getByRole('button', { name: 'Versions' }).click();
    const dialog = page.getByTestId('versions-dialog');
    await dialog.getByTestId('version-row-2').waitFor();
    await dialog.getByLabel('Compare version 1').check();
    await dialog.getByLabel('Compare version 2').check();
    await dialog.getByTestId('version-diff').filter({ hasText: 'train-1.epochs: 7 → 9' }).waitFor();

    await dialog.getByTestId('version-row-1').getByRole('button', { name: 'Restore' }).click();
    await expectNotice(page, /Restored as version 3/);
    await expect.poll(() => node(page, 'train-1').locator('.dfe-node-summary').textContent()).toContain('epochs 7');

    const templates = await app.trpc<{ id: string; name: string; latestVersion: { version: number; graph: PipelineGraph } }[]>(
      'templates.list',
      { productLineId: lineA.id },
    );
    const saved = templates.find((t) => t.name === TEMPLATE_NAME);
    expect(saved?.latestVersion.version).toBe(3);
    expect(saved?.latestVersion.graph.nodes.find((n) => n.id === 'train-1')?.params.epochs).toBe(7);
  });

  it('instantiates the template for a second product line with its own dataset folder', async () => {
    await page.goto(`${app.url}/product-lines/${encodeURIComponent(lineB.id)}`);
    await page.getByTestId('product-line-name').filter({ hasText: 'E2E coil line' }).waitFor();
    await page.getByRole('button', { name: 'New pipeline from template…' }).click();
    const dialog = page.getByTestId('instantiate-dialog');
    await dialog.getByLabel('Template').selectOption({ label: `E2E strip line / ${TEMPLATE_NAME}` });
    const datasetPath = dialog.getByTestId('override-dataset-1.path');
    await expect.poll(() => datasetPath.inputValue()).toBe('sample-steel');
    // Browse the datasets folder for the new line's images.
    await dialog.getByRole('button', { name: 'Browse…' }).click();
    const picker = page.getByTestId('dataset-picker');
    await picker.getByRole('button', { name: /coil-images/ }).click();
    await picker.getByRole('button', { name: 'Use this folder' }).click();
    await expect.poll(() => datasetPath.inputValue()).toBe('coil-images');
    await dialog.getByLabel('Pipeline name').fill('Coil pipeline');
    await dialog.getByRole('button', { name: 'Create pipeline' }).click();

    await page.waitForURL(/\/editor\?pipeline=/);
    await waitForEditor(page);
    await expect(page.getByLabel('Pipeline name').inputValue()).resolves.toBe('Coil pipeline');
    await expect(page.getByLabel('Product line').inputValue()).resolves.toBe(lineB.id);
    await expect(node(page, 'dataset-1').locator('.dfe-node-summary').textContent()).resolves.toContain('coil-images');
    await expect(page.locator('.react-flow__node').count()).resolves.toBe(8);

    const pipelines = await app.trpc<{ id: string; name: string; graph: PipelineGraph }[]>('pipelines.list', {
      productLineId: lineB.id,
    });
    const coil = pipelines.find((p) => p.name === 'Coil pipeline');
    expect(coil?.graph.nodes.find((n) => n.id === 'dataset-1')?.params.path).toBe('coil-images');
    expect(coil?.graph.nodes.find((n) => n.id === 'train-1')?.params.epochs).toBe(7);
  });

  it('keeps unsaved work as a local draft and saves with Ctrl+S', async () => {
    await node(page, 'train-1').click();
    await page.getByTestId('inspector').locator('#dfe-param-epochs').fill('11');
    await page.getByTestId('dirty-marker').waitFor();
    await expect(page.title()).resolves.toMatch(/^● Coil pipeline/);
    await page.waitForTimeout(600); // the draft is written shortly after the edit
    await page.reload();
    await waitForEditor(page);
    await expectNotice(page, /Restored your unsaved changes/);
    await expect(node(page, 'train-1').locator('.dfe-node-summary').textContent()).resolves.toContain('epochs 11');
    await page.getByTestId('dirty-marker').waitFor();

    await clickEmptyCanvas(page);
    await page.keyboard.press('Control+s');
    await expectNotice(page, /Saved pipeline “Coil pipeline”/);
    await page.getByTestId('saved-marker').waitFor();
    const url = new URL(page.url());
    const saved = await app.trpc<{ graph: PipelineGraph }>('pipelines.get', { id: url.searchParams.get('pipeline') });
    expect(saved.graph.nodes.find((n) => n.id === 'train-1')?.params.epochs).toBe(11);
  });

  it('runs the pipeline and paints each node with its run state', async () => {
    // coil-images is an empty folder: the dataset node fails fast, with its reason on the card.
    await page.getByTestId('run-button').click();
    await page.getByTestId('run-drawer').getByTestId('run-panel').waitFor();
    await node(page, 'dataset-1').getByTestId('node-run-state').filter({ hasText: 'Failed' }).waitFor({ timeout: 120_000 });
    const reason = await node(page, 'dataset-1').locator('.dfe-node-runmsg').textContent();
    expect(reason?.length).toBeGreaterThan(10);
  });
});
