/**
 * Model stages and the prediction API end to end: the real web server and runner train one small run that deploys
 * two models into a product line (v1, v2); in Chromium the model page shows stage and version, v1 and then v2 are
 * promoted (v1 is archived and the rollback to it is offered); the product line's prediction API answers with
 * the production version, and the model page's "Recent predictions" lists that call with the kept image's
 * thumbnail; rolling back makes the API answer with v1 again.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PipelineGraph } from '@defectflow/nodes';
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

interface Answer {
  class: string;
  probabilities: Record<string, number>;
  model: { id: string; version: number; stage: string };
}

/** The tiny pipeline with a second deploy node: one run registers two models of the line (v1 and v2). */
function twoModelGraph(dataset: string): PipelineGraph {
  const graph = tinyTransferGraph({
    dataset: { path: dataset, valRatio: 0.2, testRatio: 0.25, seed: 1 },
    head: { hidden: 16 },
    train: { epochs: 3, batchSize: 8, earlyStopping: false, seed: 1 },
    deploy: { name: 'line model A', gateMetric: 'none' },
  });
  graph.nodes.push({ id: 'deploy2', type: 'deploy', params: { name: 'line model B', gateMetric: 'none' }, position: { x: 1400, y: 440 } });
  graph.edges.push(
    { id: 'train-deploy2', source: 'train', sourceHandle: 'trained', target: 'deploy2', targetHandle: 'trained' },
    { id: 'evaluate-deploy2', source: 'evaluate', sourceHandle: 'metrics', target: 'deploy2', targetHandle: 'metrics' },
  );
  return graph;
}

describe('model stages, the prediction API and the prediction log in the browser', () => {
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let lineId: string;
  let v1: ModelRow;
  let v2: ModelRow;
  let image: Buffer;

  /** The product line's prediction API with a raw image (AUTH is off: the harness's loopback default). */
  async function predictWithLine(): Promise<Answer> {
    const res = await fetch(`${app.url}/api/v1/product-lines/${encodeURIComponent(lineId)}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(image),
    });
    const body = (await res.json()) as { predictions?: Answer[]; error?: string };
    if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${body.error}`);
    return body.predictions![0]!;
  }

  beforeAll(async () => {
    // Every prediction keeps its image here, so the table shows a thumbnail for the API call.
    app = await startApp({ env: { PREDICTION_SAMPLE_RATE: '1' } });
    await app.waitForRunner();
    const dataset = await createTinyDataset(app, 'stages-tiny', 10);
    const classDir = path.join(app.datasetsRoot, dataset, 'scratches');
    image = readFileSync(path.join(classDir, readdirSync(classDir).sort()[0]!));
    lineId = (await app.trpc<{ id: string }[]>('productLines.list'))[0]!.id;
    const started = await app.trpc<{ ok: boolean; runId: string }>('runs.start', { graph: twoModelGraph(dataset), productLineId: lineId }, 'mutation');
    expect(started.ok).toBe(true);
    const run = await waitForRunEnd(app, started.runId, 240_000);
    expect(run.status).toBe('succeeded');
    const models = (await app.trpc<ModelRow[]>('models.list', { productLineId: lineId })).filter((m) => m.runId === started.runId);
    expect(models.map((m) => m.stage)).toEqual(['staging', 'staging']);
    v1 = models.find((m) => m.version === 1)!;
    v2 = models.find((m) => m.version === 2)!;
    expect(v1 && v2).toBeTruthy();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  const stageOf = (p: Page) => p.getByTestId('model-actions').getByTestId('model-stage');

  it('promote v1, then v2: each page shows its stage and version; v1 is archived with the rollback to it offered', async () => {
    await page.goto(`${app.url}/models/${encodeURIComponent(v1.id)}`);
    await expect.poll(() => stageOf(page).textContent()).toBe('v1 · staging');
    await page.getByTestId('model-promote').click();
    await expect.poll(() => stageOf(page).getAttribute('data-stage')).toBe('production');

    await page.goto(`${app.url}/models/${encodeURIComponent(v2.id)}`);
    await expect.poll(() => stageOf(page).textContent()).toBe('v2 · staging');
    await page.getByTestId('model-promote').click();
    await expect.poll(() => stageOf(page).textContent()).toBe('v2 · production');
    await expect.poll(() => page.getByTestId('model-rollback').textContent()).toBe('Roll back to v1');

    await page.goto(`${app.url}/models/${encodeURIComponent(v1.id)}`);
    await expect.poll(() => stageOf(page).textContent()).toBe('v1 · archived');
    expect(await page.getByTestId('model-unarchive').isVisible()).toBe(true);
    await page.goto(`${app.url}/product-lines/${encodeURIComponent(lineId)}`);
    await expect.poll(() => page.getByTestId('product-line-active-model').textContent()).toContain(v2.name);
    expect(await page.getByTestId('product-line-production-stage').textContent()).toBe('v2 · production');
    expect(await page.getByTestId('model-rollback').textContent()).toBe('Roll back to v1');
  });

  it("the line's prediction API answers with v2, and v2's page lists that prediction with its thumbnail", async () => {
    const answer = await predictWithLine();
    expect(answer.model).toMatchObject({ id: v2.id, version: 2, stage: 'production' });
    expect(Object.values(answer.probabilities).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 4);

    await page.goto(`${app.url}/models/${encodeURIComponent(v2.id)}`);
    const row = page.locator('[data-testid="prediction-row"][data-source="api"]').first();
    await row.waitFor({ timeout: 30_000 });
    expect(await row.getByTestId('prediction-class').textContent()).toBe(answer.class);
    const thumb = row.getByTestId('prediction-thumb');
    await expect.poll(() => thumb.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0);
  });

  it('roll back in one click: v1 is production again and the API answers with it', async () => {
    await page.getByTestId('model-rollback').click();
    await expect.poll(() => stageOf(page).textContent()).toBe('v2 · staging');
    const answer = await predictWithLine();
    expect(answer.model).toMatchObject({ id: v1.id, version: 1, stage: 'production' });
  });
});
