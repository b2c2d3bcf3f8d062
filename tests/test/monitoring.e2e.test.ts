/**
 * Monitoring end to end: the real web server and runner train a small run that deploys a model (with its drift
 * reference); images streamed through the prediction API move the monitoring page's charts (ECharts SVG in Chromium)
 * without an alarm while they look like the training images, and a shifted stream (contrast pushed up, blank frames)
 * raises the input-drift alarm: the banner shows on the monitoring page and on the model page.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, createTinyDataset, launchBrowser, startApp } from '../src/harness.ts';
import { waitForRunEnd } from '../src/reliability.ts';

describe('monitoring page and drift alarm in the browser', () => {
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let modelId: string;
  let images: Buffer[];

  async function predict(image: Buffer): Promise<{ drift: { drifted: boolean } | null }> {
    const res = await fetch(`${app.url}/api/v1/models/${encodeURIComponent(modelId)}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(image),
    });
    const body = (await res.json()) as { predictions: Array<{ drift: { drifted: boolean } | null }>; error?: string };
    if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${body.error}`);
    return body.predictions[0]!;
  }

  beforeAll(async () => {
    app = await startApp({ env: { ALARM_WINDOW: '20', ALARM_MIN_PREDICTIONS: '10', ALARM_DRIFT_RATE: '0.3', ALARM_CLASS_MIX_DISTANCE: '1' } });
    await app.waitForRunner();
    const dataset = await createTinyDataset(app, 'monitoring-tiny', 12);
    const root = path.join(app.datasetsRoot, dataset);
    images = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .flatMap((d) => readdirSync(path.join(root, d.name)).map((f) => readFileSync(path.join(root, d.name, f))));
    const graph = tinyTransferGraph({
      dataset: { path: dataset, valRatio: 0.25, testRatio: 0.2, seed: 1 },
      head: { hidden: 16 },
      train: { epochs: 3, batchSize: 8, earlyStopping: false, seed: 1 },
      deploy: { name: 'monitored model', gateMetric: 'none' },
    });
    const started = await app.trpc<{ ok: boolean; runId: string }>('runs.start', { graph }, 'mutation');
    const run = await waitForRunEnd(app, started.runId, 240_000);
    expect(run.status).toBe('succeeded');
    const models = (await app.trpc<Array<{ id: string; runId: string | null }>>('models.list', {})).filter((m) => m.runId === started.runId);
    modelId = models[0]!.id;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  it('an unchanged stream moves the charts and raises no alarm', async () => {
    // Before any prediction the page says where predictions come from; it follows the stream by itself.
    await page.goto(`${app.url}/models/${encodeURIComponent(modelId)}`);
    await page.getByTestId('model-monitoring-link').click();
    await page.waitForURL(/\/monitoring$/);
    await page.getByTestId('monitoring-empty').waitFor({ timeout: 15_000 });
    const answers = [];
    for (const image of images.slice(0, 20)) answers.push(await predict(image));
    expect(answers.every((a) => a.drift !== null)).toBe(true);
    await page.getByTestId('monitoring-empty').waitFor({ state: 'detached', timeout: 15_000 });
    await expect.poll(() => page.getByTestId('monitoring-count').textContent(), { timeout: 15_000 }).toBe('20');
    for (const chart of ['chart-volume', 'chart-class-mix', 'chart-confidence', 'chart-drift']) {
      await expect.poll(() => page.getByTestId(chart).locator('svg path').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    }
    // Hover values: the tooltip appears over the volume chart's bars.
    const box = await page.getByTestId('chart-volume').boundingBox();
    await page.mouse.move(box!.x + box!.width - 40, box!.y + box!.height / 2);
    expect(await page.getByTestId('alarm-banner').count()).toBe(0);
  });

  it('a shifted stream raises the drift alarm: banner on the monitoring and model pages', async () => {
    const shifted = await Promise.all(
      images.slice(0, 15).map((img, k) =>
        k % 3 === 2
          ? sharp({ create: { width: 96, height: 96, channels: 3, background: '#ffffff' } }).png().toBuffer()
          : sharp(img).linear(4, -380).png().toBuffer(),
      ),
    );
    const answers = [];
    for (const image of shifted) answers.push(await predict(image));
    expect(answers.filter((a) => a.drift?.drifted).length).toBeGreaterThan(10);
    await expect.poll(() => page.getByTestId('alarm-banner').count(), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('alarm-item').first().getAttribute('data-rule')).toBe('drift_rate');
    await page.goto(`${app.url}/models/${encodeURIComponent(modelId)}`);
    await expect.poll(() => page.getByTestId('alarm-banner').textContent(), { timeout: 10_000 }).toContain('Input drift');
  });
});
