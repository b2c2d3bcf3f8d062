/**
 * Review and retrain end to end: the real web server and runner train a small run that deploys a model into a
 * product line (promoted to production); images sent through the prediction API are low-confidence (the threshold
 * raised to 1 via PREDICTION_LOW_CONFIDENCE, so every answer is kept for review). In Chromium the review page,
 * reached from the model page's link, labels them with keys (a digit, Enter, X, S and ← back), adds the labelled
 * images as the dataset's next version, retrains (a real run on that version), shows both models scored on the
 * retrain run's test split (as many images as the run evaluated) and promotes the retrained model.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, createTinyDataset, launchBrowser, startApp } from '../src/harness.ts';
import { waitForRunEnd } from '../src/reliability.ts';

interface ModelRow {
  id: string;
  name: string;
  version: number;
  stage: string;
  runId: string | null;
}

describe('review queue, add to dataset, retrain and promote in the browser', () => {
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let dataset: string;
  let model: ModelRow;
  let lineId: string;

  beforeAll(async () => {
    app = await startApp({ env: { PREDICTION_LOW_CONFIDENCE: '1' } });
    await app.waitForRunner();
    dataset = await createTinyDataset(app, 'review-tiny', 10);
    lineId = (await app.trpc<{ id: string }[]>('productLines.list'))[0]!.id;
    const graph = tinyTransferGraph({
      dataset: { path: dataset, valRatio: 0.2, testRatio: 0.25, seed: 1 },
      head: { hidden: 16 },
      train: { epochs: 2, batchSize: 8, earlyStopping: false, seed: 1 },
      deploy: { name: 'reviewed model', gateMetric: 'none' },
    });
    const started = await app.trpc<{ ok: boolean; runId: string }>('runs.start', { graph, productLineId: lineId }, 'mutation');
    expect(started.ok).toBe(true);
    expect((await waitForRunEnd(app, started.runId, 240_000)).status).toBe('succeeded');
    model = (await app.trpc<ModelRow[]>('models.list', { productLineId: lineId })).find((m) => m.runId === started.runId)!;
    await app.trpc('models.promote', { id: model.id }, 'mutation');
    // Four production images through the API: each answer is below the raised threshold, so each is kept for review.
    const classDir = path.join(app.datasetsRoot, dataset, 'scratches');
    for (const file of readdirSync(classDir).sort().slice(0, 4)) {
      const res = await fetch(`${app.url}/api/v1/models/${encodeURIComponent(model.id)}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body: new Uint8Array(readFileSync(path.join(classDir, file))),
      });
      expect(res.status).toBe(200);
    }
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  const counter = () => page.getByTestId('review-counter').textContent();
  const current = () => page.getByTestId('review-item').getAttribute('data-prediction-id');

  it('labels the queue with keys: a class digit, Enter (the prediction), X (discard), S (skip) and ← back', async () => {
    await page.goto(`${app.url}/models/${encodeURIComponent(model.id)}`);
    await expect.poll(() => page.getByTestId('model-review-link').textContent(), { timeout: 15_000 }).toBe('Review queue (4 waiting)');
    await page.getByTestId('model-review-link').click();
    await page.waitForURL(/\/review$/);
    await expect.poll(counter, { timeout: 15_000 }).toBe('0 labelled, 4 waiting');
    // The kept image is served and decodes (loaded once the browser fetched it).
    await expect.poll(() => page.getByTestId('review-image').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), { timeout: 10_000 }).toBe(true);
    // The buttons carry their keys, in the model's class order.
    expect(await page.getByTestId('review-class-scratches').textContent()).toContain('3');

    const first = await current();
    await page.keyboard.press('3'); // scratches
    await expect.poll(counter).toBe('1 labelled, 3 waiting');
    const second = await current();
    expect(second).not.toBe(first);
    const predicted = await page.getByTestId('review-predicted').textContent();
    await page.keyboard.press('Enter'); // confirm the prediction
    await expect.poll(counter).toBe('2 labelled, 2 waiting');
    await page.keyboard.press('ArrowLeft'); // back to the second one: relabel it as scratches
    await expect.poll(current).toBe(second);
    expect(await page.getByTestId('review-revisit').textContent()).toContain(`labelled ${predicted}`);
    await page.keyboard.press('3');
    await expect.poll(() => page.getByTestId('review-revisit').count()).toBe(0); // relabelled: on to the next
    await expect.poll(current).not.toBe(second);
    expect(await counter()).toBe('2 labelled, 2 waiting');
    const third = await current();
    await page.keyboard.press('s'); // skip: stays waiting
    await expect.poll(current).not.toBe(third);
    await page.keyboard.press('x'); // discard the fourth
    await expect.poll(counter).toBe('2 labelled, 1 waiting');
    await expect.poll(() => page.getByTestId('review-empty').textContent()).toContain('1 skipped');
    const rows = await app.trpc<{ items: Array<{ id: string }> }>('reviews.queue', { modelId: model.id });
    expect(rows.items.map((i) => i.id)).toEqual([third]);
  });

  it('adds the labelled images as the next dataset version, retrains on it, compares with production and promotes', async () => {
    await page.getByTestId('review-add').click();
    await expect.poll(() => page.getByTestId('review-added').textContent(), { timeout: 15_000 }).toBe(`Added 2 image(s) as ${dataset} v2`);
    await expect.poll(counter).toBe('0 labelled, 1 waiting');
    expect(await page.getByTestId('review-add').isDisabled()).toBe(true);

    await page.getByTestId('review-retrain-start').click();
    await expect.poll(() => page.getByTestId('review-retrain-status').textContent(), { timeout: 240_000, interval: 1000 }).toBe('succeeded');
    await expect.poll(() => page.getByTestId('review-comparison').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('review-comparison-production').textContent()).toContain(`${model.name} v${model.version} (production)`);
    const runId = new URL(page.url()).searchParams.get('run')!;
    const run = await app.trpc<{ graph: { nodes: Array<{ type: string; params: Record<string, unknown> }> } }>('runs.get', { runId });
    expect(run.graph.nodes.find((n) => n.type === 'dataset')?.params).toMatchObject({ path: dataset, version: 2 });
    expect(await page.getByTestId('review-compare-link').getAttribute('href')).toBe(`/runs/compare?ids=${model.runId},${runId}`);
    // Both models on the retrain run's test split: the server ran the production model on exactly those images.
    const evaluated = await app.trpc<{ metrics: { count: number; split: string; classes: string[] } }>('runs.get', { runId });
    expect(evaluated.metrics.split).toBe('test');
    await expect.poll(() => page.getByTestId('review-same-split').getAttribute('data-images'), { timeout: 60_000 }).toBe(String(evaluated.metrics.count));
    expect(await page.getByTestId('review-same-split-caption').textContent()).toContain(`both scored on the ${evaluated.metrics.count} test images of run ${runId}`);
    expect(await page.getByTestId('review-same-split').locator('thead').textContent()).toContain(`production v${model.version}`);
    for (const key of ['accuracy', 'macroF1', ...evaluated.metrics.classes.map((c) => `recall-${c}`)]) {
      expect(await page.getByTestId(`review-same-split-${key}`).textContent()).toMatch(/%.*%.*[+−]\d+\.\d pts$/);
    }
    const api = await app.trpc<{ sameSplit: { state: string; images: number; failed: unknown[]; candidate: { accuracy: number } } }>('reviews.comparison', { modelId: model.id, runId });
    expect(api.sameSplit).toMatchObject({ state: 'done', images: evaluated.metrics.count, failed: [] });

    await page.getByTestId('review-promote').click();
    await expect.poll(() => page.getByTestId('review-promote').textContent(), { timeout: 15_000 }).toBe('In production');
    const line = await app.trpc<{ production: ModelRow }>('models.line', { productLineId: lineId });
    expect(line.production.runId).toBe(runId);
  });
});
