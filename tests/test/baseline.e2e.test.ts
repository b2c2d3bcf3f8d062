/**
 * A useless model must not look fine: real web server + runner + Chromium, a deliberately untrained model on a
 * set where "good" is two thirds of the images. The run page and the report say in words that it is no better
 * than always answering 'good', the deploy gate "must beat the baseline" refuses it, and the report's operating
 * point control changes the confusion shown.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, launchBrowser, startApp } from '../src/harness.ts';

const DATASET = 'e2e-mostly-good';
const PORT = 3621;
const RUNNER_PORT = 3622;

/** good = 24 crazing-textured images, scratches and patches 6 each: always answering 'good' scores ~2/3. */
async function mostlyGoodDataset(root: string): Promise<void> {
  const raw = path.join(root, '.raw');
  await generateSampleDataset(raw, { perClass: 24, size: 64, seed: 5, classes: ['crazing', 'scratches', 'patches'] });
  for (const [from, to, n] of [
    ['crazing', 'good', 24],
    ['scratches', 'scratches', 6],
    ['patches', 'patches', 6],
  ] as const) {
    const dir = path.join(root, DATASET, to);
    mkdirSync(dir, { recursive: true });
    for (const f of readdirSync(path.join(raw, from)).sort().slice(0, n)) copyFileSync(path.join(raw, from, f), path.join(dir, f));
  }
}

describe('baseline warning and operating point', () => {
  let dataDir: string;
  let app: AppHandle;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'defectflow-baseline-e2e-'));
    const datasetsRoot = path.join(dataDir, 'datasets');
    mkdirSync(datasetsRoot, { recursive: true });
    await mostlyGoodDataset(datasetsRoot);
    await rm(path.join(datasetsRoot, '.raw'), { recursive: true, force: true });
    app = await startApp({ port: PORT, runnerPort: RUNNER_PORT, dataDir });
    await app.waitForRunner();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('warns in words on the run page and report, refuses the baseline gate, and the operating point moves the confusion', async () => {
    const graph = tinyTransferGraph({
      dataset: { path: DATASET, valRatio: 0.2, testRatio: 0.35, seed: 2 },
      head: { hidden: 8, dropout: 0 },
      // One epoch at the smallest learning rate: the head stays essentially at its random start.
      train: { epochs: 1, batchSize: 8, learningRate: 0.00001, earlyStopping: false, schedule: 'constant', seed: 3 },
      deploy: { name: 'useless', gateBaseline: true, baselineMargin: 0.05 },
    });
    const evaluate = graph.nodes.find((n) => n.type === 'evaluate');
    if (!evaluate) throw new Error('tiny graph has no evaluate node');
    evaluate.params = { ...evaluate.params, operatingMode: 'defect-recall', targetRecall: 1 };
    const res = await app.trpc<{ ok: boolean; runId?: string; errors?: unknown }>('runs.start', { graph }, 'mutation');
    if (!res.ok || !res.runId) throw new Error(`runs.start refused the graph: ${JSON.stringify(res.errors)}`);

    await page.goto(`${app.url}/runs/${res.runId}`);
    // The deploy gate refuses it, so the run fails, naming the baseline.
    await page.waitForSelector('[data-testid="run-status"][data-status="failed"]', { timeout: 240_000 });
    await expect.poll(() => page.locator('[data-testid="run-panel"] [role="alert"]').first().textContent()).toMatch(
      /does not beat always answering 'good' \([\d.]+ %\) by the required 5\.0 points/,
    );
    const runWarning = await page.locator('[data-testid="run-baseline-warning"]').textContent({ timeout: 30_000 });
    expect(runWarning).toMatch(/(no better|worse) than always answering 'good'/);
    const report = page.locator('[data-testid="evaluation-report"]');
    await expect.poll(() => report.locator('[data-testid="baseline-warning"]').textContent()).toMatch(/always answering 'good' \([\d.]+ % accuracy\)/);
    expect(await report.locator('[data-testid="metric-accuracy-baseline"]').textContent()).toMatch(/baseline [\d.]+% \(always 'good'\)/);

    // The evaluate node's operating point (catch 100 % of defects) is where the control starts: nothing missed.
    const op = report.locator('[data-testid="operating-point"]');
    expect(await op.locator('[data-testid="op-mode"]').inputValue()).toBe('defect-recall');
    expect(await op.locator('[data-testid="op-missed"]').textContent()).toBe('0');
    const strictMatrix = await op.locator('[data-testid="confusion-matrix"]').textContent();
    const flaggedAtFullRecall = Number(await op.locator('[data-testid="op-flagged"]').textContent());

    // No good part may be flagged: the threshold moves up, the confusion follows.
    await op.locator('[data-testid="op-mode"]').selectOption('false-alarm');
    await op.locator('[data-testid="op-target"]').fill('0');
    await expect.poll(() => op.locator('[data-testid="op-flagged"]').textContent()).toBe('0');
    const caught = Number(await op.locator('[data-testid="op-caught"]').textContent());
    const missed = Number(await op.locator('[data-testid="op-missed"]').textContent());
    expect(missed).toBeGreaterThan(0);
    expect(caught + missed).toBeGreaterThan(0);
    expect(flaggedAtFullRecall, 'a random model cannot catch every defect without flagging a good part').toBeGreaterThan(0);
    expect(await op.locator('[data-testid="confusion-matrix"]').textContent()).not.toBe(strictMatrix);
    expect(await op.locator('[data-testid="op-threshold"]').textContent()).toMatch(/threshold/);

    if (process.env.E2E_SCREENSHOT_DIR) {
      await op.locator('[data-testid="op-mode"]').selectOption('defect-recall');
      await op.locator('[data-testid="op-target"]').fill('90');
      await report.screenshot({ path: path.join(process.env.E2E_SCREENSHOT_DIR, 'baseline-report.png') });
      await page.screenshot({ path: path.join(process.env.E2E_SCREENSHOT_DIR, 'baseline-run-page.png'), fullPage: true });
    }
  });
});
