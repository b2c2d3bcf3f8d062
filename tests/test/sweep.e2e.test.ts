/**
 * A hyperparameter sweep end to end: real web server + runner + headless Chromium, real training on a tiny
 * generated dataset. From the editor on the sample template: the sweep dialog refuses an invalid dimension next to
 * its row, then starts a small random sweep of the learning rate (log scale) and the head's dropout; the sweep page
 * shows trials arriving (the first one the template's current settings, badged), later trials reusing the cached
 * features, the best row marked and both charts drawn;
 * "Use these parameters" saves a template version and the editor opens it with the best learning rate.
 */
import type { PipelineGraph } from '@defectflow/nodes';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppHandle, createTinyDataset, launchBrowser, startApp } from '../src/harness.ts';
import { endlessGraph, startRun, waitForRunEnd } from '../src/reliability.ts';

const SAMPLE_TEMPLATE = 'Default transfer (MobileNetV2)';

interface SweepView {
  id: string;
  status: string;
  bestTrialIndex: number | null;
  trials: { index: number; status: string; score: number | null; params: Record<string, unknown>; reusedFeatures: boolean | null; baseline: boolean }[];
}

/** The sample template shrunk so a trial takes seconds: 64 px input, an early cut, no augmentation, 3 epochs. */
function smallTemplate(graph: PipelineGraph, dataset: string): PipelineGraph {
  const small: Record<string, Record<string, unknown>> = {
    dataset: { path: dataset, valRatio: 0.25, testRatio: 0.25, seed: 1 },
    augment: { copies: 0 },
    backbone: { inputSize: 64, cutAt: 'block_6_expand_relu' },
    freeze: { mode: 'all' },
    head: { filters: 16 },
    train: { epochs: 3, batchSize: 8, earlyStopping: false, smallClassViews: false },
  };
  return { ...graph, nodes: graph.nodes.map((n) => ({ ...n, params: { ...n.params, ...small[n.id] } })) };
}

describe('hyperparameter sweep from the editor', () => {
  let app: AppHandle;
  let browser: Browser;
  let page: Page;
  let templateId = '';
  let sweepId = '';
  let templateGraph: PipelineGraph;
  let dataset = '';

  beforeAll(async () => {
    app = await startApp();
    await app.waitForRunner();
    dataset = await createTinyDataset(app, 'sweep-tiny', 12);
    const template = (await app.trpc<{ id: string; name: string; productLineId: string }[]>('templates.list')).find(
      (t) => t.name === SAMPLE_TEMPLATE,
    );
    if (!template) throw new Error(`no seeded template "${SAMPLE_TEMPLATE}"`);
    templateId = template.id;
    const { latest } = await app.trpc<{ latest: { graph: PipelineGraph } }>('templates.get', { id: templateId });
    templateGraph = smallTemplate(latest.graph, dataset);
    const saved = await app.trpc<{ versionId: string }>(
      'templates.save',
      { templateId, productLineId: template.productLineId, name: template.name, graph: templateGraph, message: 'tiny' },
      'mutation',
    );
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('dialog', (d) => void d.accept());
    await page.goto(`${app.url}/editor?template=${templateId}&version=${saved.versionId}`);
    await page.locator('[data-testid="editor"][data-ready="true"]').waitFor({ timeout: 60_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  it('refuses an invalid dimension next to its row, with Start disabled', async () => {
    await page.getByTestId('sweep-button').click();
    const dialog = page.getByTestId('sweep-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('sweep-vary-train.learningRate').check();
    // A learning rate spans orders of magnitude: the dialog proposes a log scale around the current value.
    expect(await dialog.getByTestId('sweep-mode-train.learningRate').inputValue()).toBe('log');
    await dialog.getByTestId('sweep-vary-head.dropout').check();
    await dialog.getByTestId('sweep-min-head.dropout').fill('0.5');
    await dialog.getByTestId('sweep-max-head.dropout').fill('0.1');
    const problem = dialog.getByTestId('sweep-row-head.dropout').getByTestId('sweep-dim-problem');
    await expect.poll(() => problem.textContent()).toMatch(/min \(0\.5\) must be below max \(0\.1\)/i);
    expect(await dialog.getByTestId('sweep-start').isDisabled()).toBe(true);
    await dialog.getByTestId('sweep-max-head.dropout').fill('0.6');
    await dialog.getByTestId('sweep-min-head.dropout').fill('0.1');
    await problem.waitFor({ state: 'detached' });
  });

  it('starts a random sweep with Enter; the page shows trials arriving, reusing cached features, and the best one', async () => {
    const dialog = page.getByTestId('sweep-dialog');
    await dialog.getByTestId('sweep-trials').fill('4');
    // One trial at a time: each trial's run is queued when the one before ends, so rows arrive one by one.
    await dialog.getByTestId('sweep-parallel').fill('1');
    expect(await dialog.getByTestId('sweep-metric').inputValue()).toBe('macroF1');
    // Trial 1 runs the template as it is, unless unticked.
    expect(await dialog.getByTestId('sweep-baseline').isChecked()).toBe(true);
    await dialog.getByTestId('sweep-start').waitFor({ state: 'visible' });
    expect(await dialog.getByTestId('sweep-start').isEnabled()).toBe(true);
    // The runner is busy with another run when the sweep starts: its trials wait in the queue, so the page is
    // certainly watching before the first one ends (tiny trials take well under a second).
    const blocker = await startRun(app, endlessGraph(dataset));
    await dialog.getByTestId('sweep-trials').press('Enter');
    await page.waitForURL(/\/sweeps\/[^/]+$/, { timeout: 30_000 });
    sweepId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    await page.getByTestId('sweep-page').waitFor();

    // Record what the table shows over time, as the page polls: rows, succeeded trials, the sweep's status.
    await page.evaluate(() => {
      const w = window as unknown as { __seen: { status: string; rows: number; succeeded: number }[] };
      w.__seen = [];
      const sample = () => {
        const status = document.querySelector('[data-testid="sweep-page"]')?.getAttribute('data-status') ?? '';
        const rows = document.querySelectorAll('[data-testid="sweep-trial"]').length;
        const succeeded = document.querySelectorAll('[data-testid="sweep-trial"][data-status="succeeded"]').length;
        const last = w.__seen[w.__seen.length - 1];
        if (!last || last.status !== status || last.rows !== rows || last.succeeded !== succeeded) w.__seen.push({ status, rows, succeeded });
      };
      new MutationObserver(sample).observe(document.body, { subtree: true, childList: true, attributes: true });
      sample();
    });
    await page.locator('[data-testid="sweep-trial"][data-status="queued"]').first().waitFor({ timeout: 30_000 });
    await app.trpc('runs.cancel', { runId: blocker }, 'mutation');
    expect((await waitForRunEnd(app, blocker)).status).toBe('cancelled');
    await page.locator('[data-testid="sweep-page"][data-status="succeeded"]').waitFor({ timeout: 280_000 });
    const seen = await page.evaluate(() => (window as unknown as { __seen: { status: string; rows: number; succeeded: number }[] }).__seen);
    // The page followed the sweep by itself: it showed it running with fewer trials done, then more, never fewer.
    const done = seen.map((s) => s.succeeded);
    expect(done, JSON.stringify(seen)).toEqual([...done].sort((a, b) => a - b));
    expect(seen.some((s) => s.status === 'running' && s.succeeded < 4), JSON.stringify(seen)).toBe(true);
    expect(new Set(seen.map((s) => s.rows)).size, JSON.stringify(seen)).toBeGreaterThan(1);

    const rows = page.getByTestId('sweep-trial');
    expect(await rows.count()).toBe(4);
    expect(await page.locator('[data-testid="sweep-trial"][data-status="succeeded"]').count()).toBe(4);
    // Trial 1 is the template's current settings, badged in the table; the sweep's view holds its own values.
    const baselineRows = page.locator('[data-testid="sweep-trial"][data-baseline="true"]');
    expect(await baselineRows.count()).toBe(1);
    expect(await baselineRows.getAttribute('data-index')).toBe('0');
    expect(await baselineRows.getByTestId('sweep-baseline-mark').textContent()).toBe('current settings');
    const trial0 = (await app.trpc<SweepView>('sweeps.get', { sweepId })).trials[0];
    const own = (id: string, param: string) => templateGraph.nodes.find((n) => n.id === id)?.params[param];
    expect(trial0).toMatchObject({ baseline: true, params: { 'train.learningRate': own('train', 'learningRate'), 'head.dropout': own('head', 'dropout') } });
    expect(await page.getByTestId('sweep-vs-baseline').textContent()).toMatch(/current settings \(trial 1\)/);

    // Only the learning rate and dropout change: a later trial read every feature from the cache.
    const cached = await page.locator('[data-testid="sweep-trial"]:has([data-testid="sweep-cached"])').evaluateAll((els) =>
      els.map((e) => Number(e.getAttribute('data-index'))),
    );
    expect(cached.some((i) => i > 0), `trials marked "cached features": ${cached}`).toBe(true);

    // Exactly one row is marked best, and it holds the best validation macro F1 of the table.
    const best = page.locator('[data-testid="sweep-trial"][data-best="true"]');
    expect(await best.count()).toBe(1);
    expect(await best.getByTestId('sweep-best-mark').textContent()).toContain('best');
    const scores = await page.getByTestId('sweep-trial-score').allTextContents();
    const bestScore = Number.parseFloat((await best.getByTestId('sweep-trial-score').textContent()) ?? '');
    expect(bestScore).toBe(Math.max(...scores.map((s) => Number.parseFloat(s))));

    // Both charts plot the four scored trials (ECharts renders SVG into its container).
    for (const chart of ['sweep-parallel', 'sweep-scatter']) {
      await page.locator(`[data-testid="${chart}"][data-points="4"] svg path`).first().waitFor({ state: 'attached', timeout: 10_000 });
      expect(await page.locator(`[data-testid="${chart}"] svg path`).count()).toBeGreaterThan(4);
    }
    // The best parameters were scored once on the test split.
    await page.getByTestId('sweep-final').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('sweep-final').textContent()).toMatch(/test split/);
  });

  it('a trial run names its sweep on its own page', async () => {
    const href = await page.locator('[data-testid="sweep-trial"][data-best="true"] a[href^="/runs/"]').getAttribute('href');
    await page.goto(`${app.url}${href}`);
    const link = page.getByTestId('run-sweep-link');
    await link.waitFor({ timeout: 30_000 });
    expect(await link.getAttribute('href')).toBe(`/sweeps/${sweepId}`);
    expect(await page.getByTestId('run-sweep').textContent()).toMatch(/^trial \d+ of sweep/);
    await page.goBack();
    await page.getByTestId('sweep-page').waitFor();
  });

  it('"Use these parameters" writes a template version; the editor opens it with the best learning rate', async () => {
    const view = await app.trpc<SweepView>('sweeps.get', { sweepId });
    const bestLr = view.trials.find((t) => t.index === view.bestTrialIndex)?.params['train.learningRate'];
    expect(typeof bestLr).toBe('number');

    await page.getByTestId('sweep-apply').click();
    const link = page.getByTestId('sweep-applied-link');
    await link.waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('sweep-applied').textContent()).toMatch(/version \d+ of the template/);
    await link.click();
    await page.waitForURL(/\/editor\?template=/);
    await page.locator('[data-testid="editor"][data-ready="true"]').waitFor({ timeout: 60_000 });
    await page.getByTestId('node-train').click();
    const input = page.getByTestId('inspector').locator('#dfe-param-learningRate');
    await input.waitFor();
    expect(Number(await input.inputValue())).toBe(bestLr);
  });
});
