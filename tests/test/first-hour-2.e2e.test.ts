/**
 * Issue 20, the first hour of a new user, second part — in a browser at 1440×900 against the real server and runner:
 * the favicon, "1 problem", a progress bar that never goes back during a real run, where the spatial head looked
 * (a heat map over the enlarged thumbnail), a prediction card of its own for an unreadable file, and a new version of
 * a dataset made by uploading more images ("Add images"), while a run trained on the old version keeps it.
 *
 * FIRST_HOUR_SHOTS=<dir> also saves a screenshot of each screen there.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import type { PipelineGraph } from '@defectflow/nodes';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeZip } from '../../apps/web/test/zip-fixture.ts';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, launchBrowser, startApp } from '../src/harness.ts';
import { openBusiestCellImage } from '../src/report.ts';

const DATASET = 'fh2-steel';
const CLASSES = ['crazing', 'patches', 'scratches'] as const;
const PER_CLASS = 12;
const SHOTS = process.env.FIRST_HOUR_SHOTS;

/** A dialog is shot as the window shows it (a full-page shot moves fixed layers). */
async function shot(page: Page, name: string, fullPage = true) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

function graph(): PipelineGraph {
  return tinyTransferGraph({
    dataset: { path: DATASET, valRatio: 0.2, testRatio: 0.25, seed: 1 },
    head: { filters: 16, dropout: 0 }, // the default spatial head, small
    train: { epochs: 4, batchSize: 8, learningRate: 0.003, earlyStopping: false, schedule: 'constant', seed: 1 },
    deploy: {},
  });
}

/** A 64×64 PNG that is not one of the dataset's images. */
async function png(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(64 * 64 * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (seed * 31 + i * 7 + ((i * seed) >> 5)) & 0xff;
  return sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
}

describe('the first hour of a new user, part 2 (issue 20)', () => {
  let dataDir: string;
  let work: string;
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let pipelineId = '';
  let runId = '';

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'defectflow-first-hour-2-'));
    work = await mkdtemp(path.join(tmpdir(), 'defectflow-first-hour-2-files-'));
    await generateSampleDataset(path.join(dataDir, 'datasets', DATASET), { perClass: PER_CLASS, size: 64, seed: 7, classes: [...CLASSES] });
    app = await startApp({ dataDir });
    await app.waitForRunner();
    const [line] = await app.trpc<{ id: string }[]>('productLines.list');
    ({ id: pipelineId } = await app.trpc<{ id: string }>('pipelines.save', { productLineId: line!.id, name: 'Steel, part 2', graph: graph() }, 'mutation'));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    for (const dir of [dataDir, work]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('every page links a favicon that the server serves', async () => {
    for (const at of ['/', '/runs']) {
      await page.goto(`${app.url}${at}`);
      const href = await page.$eval('link[rel~="icon"]', (el) => (el as HTMLLinkElement).href);
      const res = await fetch(href);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
      expect(await res.text()).toContain('<svg');
    }
  });

  it('one problem reads "1 problem", on the Run button and in the inspector', async () => {
    await page.goto(`${app.url}/editor?pipeline=${pipelineId}`);
    await page.waitForSelector('[data-testid="editor"][data-ready="true"]', { timeout: 60_000 });
    await page.getByTestId('node-train').click();
    const epochs = page.getByTestId('inspector').locator('#dfe-param-epochs');
    await epochs.fill('0');
    await expect.poll(() => page.getByTestId('run-blocker').textContent()).toBe('1 problem');
    // Click empty canvas (a point where the pane itself is on top) to deselect the node.
    const empty = await page.evaluate(() => {
      const pane = document.querySelector('.react-flow__pane')!.getBoundingClientRect();
      for (let y = pane.top + 10; y < pane.bottom; y += 25) {
        for (let x = pane.left + 10; x < pane.right; x += 25) {
          if (document.elementFromPoint(x, y)?.classList.contains('react-flow__pane')) return { x, y };
        }
      }
      throw new Error('no empty spot on the canvas');
    });
    await page.mouse.click(empty.x, empty.y);
    await expect.poll(() => page.getByTestId('graph-problem-count').textContent()).toBe('1 problem');
    await shot(page, 'editor-one-problem');
    await page.getByTestId('node-train').click();
    await epochs.fill('4');
    await page.getByTestId('run-blocker').waitFor({ state: 'detached' });
  });

  it('the progress bar of a real run only moves forward, to 100 %', async () => {
    // Every value the bar shows, in order, recorded in the page as it changes.
    await page.evaluate(() => {
      const w = window as unknown as { __progress: number[] };
      w.__progress = [];
      const sample = () => {
        const el = document.querySelector('[data-testid="run-progress"]');
        if (!el) return;
        const value = Number(el.getAttribute('data-value'));
        if (w.__progress[w.__progress.length - 1] !== value) w.__progress.push(value);
      };
      new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-value'] });
    });
    await page.getByTestId('run-button').click();
    await page.waitForSelector('[data-testid="run-panel"][data-run-id]', { timeout: 30_000 });
    runId = (await page.getAttribute('[data-testid="run-panel"]', 'data-run-id')) ?? '';
    await page.waitForSelector('[data-testid="run-status"][data-status="succeeded"]', { timeout: 240_000 });
    const seen = await page.evaluate(() => (window as unknown as { __progress: number[] }).__progress);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(100);
    expect(seen.filter((v) => v > 0 && v < 100).length).toBeGreaterThanOrEqual(3); // it moved during the run, not at the end only
  });

  it('the enlarged thumbnail shows where the spatial head looked', async () => {
    await page.goto(`${app.url}/runs/${runId}`);
    const dialog = await openBusiestCellImage(page);
    await dialog.getByTestId('heatmap-toggle').click();
    const heatmap = dialog.getByTestId('heatmap');
    await heatmap.waitFor({ timeout: 60_000 });
    // The 64 px input cut at block_6 gives an 8×8 map, drawn over the image (not beside it) and not blank.
    expect(await heatmap.getAttribute('data-size')).toBe('8x8');
    expect(CLASSES as readonly (string | null)[]).toContain(await heatmap.getAttribute('data-label'));
    const [img, map] = [await dialog.getByTestId('enlarged-img').boundingBox(), await heatmap.boundingBox()];
    expect(map!.width).toBeGreaterThan(300);
    expect(Math.abs(map!.x - img!.x)).toBeLessThan(2);
    expect(Math.abs(map!.x + map!.width - (img!.x + img!.width))).toBeLessThan(2);
    const opaque = await heatmap.evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
      return n;
    });
    expect(opaque).toBeGreaterThan(0);
    expect(await dialog.getByTestId('heatmap-caption').textContent()).toMatch(/^Red: what made the model say \S+\.$/);
    await shot(page, 'enlarged-heatmap', false);
    await dialog.getByTestId('heatmap-toggle').click();
    await heatmap.waitFor({ state: 'detached' });
    await page.keyboard.press('Escape');
  });

  it('an unreadable file gets its own card, by its file name, next to the good file\'s prediction', async () => {
    const [model] = (await app.trpc<{ id: string; runId: string }[]>('models.list')).filter((m) => m.runId === runId);
    await page.goto(`${app.url}/models/${encodeURIComponent(model!.id)}`);
    await page.getByTestId('model-detail').waitFor();
    const classDir = path.join(dataDir, 'datasets', DATASET, 'patches');
    const good = path.join(classDir, readdirSync(classDir)[0]!);
    const broken = path.join(work, 'camera 2 frame 17.png');
    writeFileSync(broken, readFileSync(good).subarray(0, 60)); // a PNG cut off in its header
    await page.setInputFiles('[data-testid="predict-input"]', [good, broken]);
    const failed = page.locator('[data-testid="prediction-failed"][data-name="camera 2 frame 17.png"]');
    await failed.waitFor({ timeout: 60_000 });
    const card = page.getByTestId('prediction');
    expect(await card.count()).toBe(1);
    expect(await card.getAttribute('data-label')).toMatch(new RegExp(`^(${CLASSES.join('|')})$`));
    const text = (await failed.textContent()) ?? '';
    expect(text).toContain('camera 2 frame 17.png');
    expect(text).toContain('Not predicted');
    expect(text).toContain('the file header is damaged (a truncated or corrupt image)'); // words, not libvips' "corrupt header:"
    expect(text).not.toMatch(/defectflow-predict-|\/tmp\//);
    const [a, b] = [await card.boundingBox(), await failed.boundingBox()];
    expect(Math.abs(a!.y - b!.y)).toBeLessThan(2); // side by side in one row
    await shot(page, 'prediction-failed');
  });

  it('"Add images" merges class folders into a new dataset version; the run trained on version 1 keeps it', async () => {
    const zip = path.join(work, 'more steel.zip');
    // One top folder (unwrapped): an existing class and a new one.
    const files = ['crazing/line3-0001.png', 'crazing/line3-0002.png', 'oil-spots/line3-0003.png', 'oil-spots/line3-0004.png', 'oil-spots/line3-0005.png'];
    writeFileSync(zip, makeZip(await Promise.all(files.map(async (f, i) => ({ name: `more steel/${f}`, data: await png(i + 1) })))));

    await page.goto(`${app.url}/datasets/${DATASET}`);
    await expect.poll(() => page.getByTestId('dataset-version').textContent(), { timeout: 30_000 }).toBe('version 1 (latest)');
    await page.getByTestId('add-images-open').click();
    await page.setInputFiles('[data-testid="add-images-zip-input"]', zip);
    await expect.poll(() => page.getByTestId('add-images-source').textContent()).toMatch(/^Zip more steel\.zip/);
    await shot(page, 'dataset-add-images');
    await page.getByTestId('add-images-start').click();
    await expect
      .poll(() => page.getByTestId('dataset-notice').textContent(), { timeout: 60_000 })
      .toBe('Version 2: added 5 image(s): crazing +2, oil-spots +3 (new class)');
    await expect.poll(() => page.getByTestId('dataset-version').textContent()).toBe('version 2 (latest)');
    expect(await page.getByTestId('dataset-title').locator('..').textContent()).not.toContain('csv layout'); // stored as csv, never uploaded as one
    const count = (c: string) => page.locator(`[data-testid="class-count"][data-class="${c}"]`).textContent();
    await expect.poll(() => count('oil-spots')).toBe('3');
    expect(await count('crazing')).toBe(String(PER_CLASS + 2));
    expect(await count('patches')).toBe(String(PER_CLASS));
    // The versions list refetches on its own after the upload: wait for it rather than read it once.
    await expect.poll(() => page.getByTestId('dataset-version-row').count()).toBe(2);
    await page.locator('[data-testid="class-tab"][data-class="oil-spots"]').click();
    await expect.poll(() => page.getByTestId('dataset-thumb').count()).toBe(3);
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('[data-testid="dataset-thumb"] img')].every((i) => i.complete && i.naturalWidth > 0),
    );
    await shot(page, 'dataset-version-2');
    // The datasets list counts the latest version.
    await page.goto(`${app.url}/datasets`);
    await expect
      .poll(() => page.locator(`[data-testid="dataset-row"][data-name="${DATASET}"]`).textContent())
      .toContain(`${3 * PER_CLASS + 5} images`);

    // A file named like an image already in its class is refused by name, from a folder this time; nothing is added.
    const folder = path.join(work, 'again');
    mkdirSync(path.join(folder, 'crazing'), { recursive: true });
    writeFileSync(path.join(folder, 'crazing', 'line3-0001.png'), await png(9));
    writeFileSync(path.join(folder, 'crazing', 'line3-0009.png'), await png(10));
    await page.goto(`${app.url}/datasets/${DATASET}`);
    await page.getByTestId('add-images-open').click();
    await page.setInputFiles('[data-testid="add-images-folder-input"]', folder);
    await page.getByTestId('add-images-start').click();
    await expect
      .poll(() => page.getByTestId('add-images-error').textContent(), { timeout: 30_000 })
      .toMatch(/^1 file\(s\) have the name of an image already in their class, so nothing was added: crazing\/line3-0001\.png\. Rename them/);
    expect(await page.getByTestId('add-images-progress').count()).toBe(0); // the error, not a full progress bar
    await shot(page, 'dataset-add-refused');
    expect((await app.trpc<{ version: number }[]>('datasets.versions', { name: DATASET })).map((v) => v.version)).toEqual([2, 1]);

    // The run stays pinned to version 1, and its link opens version 1 with the counts it trained on.
    const run = await app.trpc<{ graph: PipelineGraph }>('runs.get', { runId });
    expect(run.graph.nodes.find((n) => n.type === 'dataset')?.params.version).toBe(1);
    await page.goto(`${app.url}/runs/${runId}`);
    await page.getByTestId('run-dataset-link').click();
    await expect.poll(() => page.getByTestId('dataset-version').textContent(), { timeout: 30_000 }).toBe('version 1 of 2');
    expect(await count('crazing')).toBe(String(PER_CLASS));
    expect(await page.locator('[data-testid="class-count"][data-class="oil-spots"]').count()).toBe(0);
  });
});
