/**
 * Bring your own backbone, end to end: the real web server and runner, headless Chromium. On /backbones
 * the ResNet-style ONNX fixture is imported, a cut point picked from the graph's list (with shapes) and
 * saved, its throughput measured; in the editor the Backbone node offers the library's file and its cut
 * points; the run gives a report, and the deployed model (one model.onnx) predicts on the models page.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { resnetFixtureOnnx } from '@defectflow/engine/testing';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, createTinyDataset, launchBrowser, startApp } from '../src/harness.ts';

describe('ONNX backbones in the browser', () => {
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let pipelineId: string;
  let dataset: string;
  let runId: string;
  const fixture = path.join(mkdtempSync(path.join(tmpdir(), 'df-onnx-fixture-')), 'resnet-tiny.onnx');

  beforeAll(async () => {
    writeFileSync(fixture, resnetFixtureOnnx({ size: 64 }));
    app = await startApp();
    await app.waitForRunner();
    dataset = await createTinyDataset(app, 'tiny-onnx', 10);
    const line = (await app.trpc<{ id: string }[]>('productLines.list'))[0]!;
    const graph = tinyTransferGraph({
      dataset: { path: dataset, valRatio: 0.2, testRatio: 0.25, seed: 1 },
      head: { hidden: 16 },
      train: { epochs: 3, batchSize: 8, earlyStopping: false, seed: 1 },
      deploy: { name: 'onnx backbone model', gateMetric: 'none' },
    });
    ({ id: pipelineId } = await app.trpc<{ id: string }>('pipelines.save', { productLineId: line.id, name: 'ONNX backbone', graph }, 'mutation'));
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  it('/backbones: imports the .onnx, lists its cut points with shapes, saves the picked one and measures throughput', async () => {
    await page.goto(`${app.url}/backbones`);
    await page.locator('[data-testid="backbone-row"][data-name="mobilenet_v2"]').waitFor();
    await page.setInputFiles('[data-testid="backbone-file"]', fixture);
    await page.getByTestId('backbone-upload-start').click();
    const detail = page.locator('[data-testid="backbone-detail"][data-name="resnet-tiny.onnx"]');
    await detail.waitFor({ timeout: 30_000 });
    expect(await detail.getByTestId('backbone-input').textContent()).toBe('64×64 RGB, NCHW');
    expect(await detail.getByTestId('backbone-params').textContent()).toMatch(/^\d+(\.\d)? k$/);
    const options = await detail.locator('[data-testid="backbone-cut"] option').allTextContents();
    expect(options).toEqual(expect.arrayContaining(['layer1 → 8×16×16', 'layer2 → 16×8×8', 'layer3 → 32×4×4']));
    await detail.getByTestId('backbone-cut').selectOption('layer2');
    await detail.getByTestId('backbone-save').click();
    await detail.getByTestId('backbone-saved').waitFor();
    expect(JSON.parse(readFileSync(path.join(app.dataDir, 'backbones', 'resnet-tiny.onnx.json'), 'utf8'))).toMatchObject({ cut: 'layer2' });
    await detail.getByTestId('backbone-measure').click();
    await expect.poll(() => detail.getByTestId('backbone-throughput').textContent(), { timeout: 60_000 }).toMatch(/[\d.]+ images\/s/);
  });

  it('the editor offers the imported backbone and its cut points; the run on it gives a report', async () => {
    await page.goto(`${app.url}/editor?pipeline=${pipelineId}`);
    await page.locator('[data-testid="editor"][data-ready="true"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('node-backbone').click();
    const inspector = page.getByTestId('inspector');
    await inspector.locator('#dfe-param-source').selectOption('onnx');
    await inspector.getByTestId('backbone-file-select').selectOption('resnet-tiny.onnx');
    await expect.poll(() => inspector.locator('#dfe-param-onnxFile').inputValue()).toBe('resnet-tiny.onnx');
    const cuts = inspector.getByTestId('cut-point-select');
    await expect.poll(() => cuts.locator('option').allTextContents()).toContain('layer3 → 32×4×4');
    await cuts.selectOption('layer3');
    await expect.poll(() => inspector.locator('#dfe-param-onnxCut').inputValue()).toBe('layer3');
    await page.waitForSelector('[data-testid="run-button"]:not([disabled])');
    await page.getByTestId('run-button').click();
    await page.waitForSelector('[data-testid="run-status"][data-status="succeeded"]', { timeout: 240_000 });
    runId = (await page.getAttribute('[data-testid="run-panel"]', 'data-run-id')) ?? '';
    expect(runId).not.toBe('');
    await page.goto(`${app.url}/runs/${runId}`);
    await page.locator('[data-testid="evaluation-report"]').waitFor({ timeout: 60_000 });
  });

  it('the deployed model is one model.onnx and predicts on the models page', async () => {
    const models = await app.trpc<{ id: string; runId: string }[]>('models.list');
    const model = models.find((m) => m.runId === runId);
    expect(model).toBeDefined();
    const dir = path.join(app.dataDir, 'models', model!.id);
    expect(readdirSync(dir).sort()).toEqual(['defectflow.json', 'model.onnx']);
    const meta = JSON.parse(readFileSync(path.join(dir, 'defectflow.json'), 'utf8'));
    expect(meta).toMatchObject({ runtime: 'onnx', backbone: { source: 'onnx', cutAt: 'layer3' } });
    await page.goto(`${app.url}/models/${encodeURIComponent(model!.id)}`);
    await page.getByTestId('model-detail').waitFor();
    const classDir = path.join(app.datasetsRoot, dataset, 'scratches');
    expect(existsSync(classDir)).toBe(true);
    await page.setInputFiles('[data-testid="predict-input"]', path.join(classDir, readdirSync(classDir)[0]!));
    await page.getByTestId('prediction').waitFor({ timeout: 60_000 });
    const labels = await page.getByTestId('score-label').allTextContents();
    expect(labels.sort()).toEqual(['crazing', 'inclusion', 'scratches']);
  });
});
