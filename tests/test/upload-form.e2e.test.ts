/**
 * The dataset upload form and list in a real browser against the real server: the name field follows each newly
 * chosen zip (a second upload never keeps the first zip's name), and a folder still being generated
 * (`<name>.partial-…`) or staged (`.uploads/…`) is never listed as a dataset.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeZip } from '../../apps/web/test/zip-fixture.ts';
import { type AppHandle, launchBrowser, startApp } from '../src/harness.ts';

async function png(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(24 * 24 * 3, seed * 37);
  for (let i = 0; i < raw.length; i += 7) raw[i] = (seed * 13 + i) & 0xff;
  return sharp(raw, { raw: { width: 24, height: 24, channels: 3 } }).png().toBuffer();
}

async function datasetZip(file: string): Promise<string> {
  const entries = [];
  for (const [c, cls] of ['good', 'scratch'].entries()) {
    for (let n = 0; n < 4; n++) entries.push({ name: `${cls}/${n}.png`, data: await png(c * 10 + n + 1) });
  }
  writeFileSync(file, makeZip(entries));
  return file;
}

describe('upload form and dataset list', () => {
  let work: string;
  let app: AppHandle;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'defectflow-upload-form-'));
    app = await startApp();
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('names the dataset after each newly chosen zip, also after a finished upload', async () => {
    const first = await datasetZip(path.join(work, 'line1-plates.zip'));
    const second = await datasetZip(path.join(work, 'line2 tiles.zip'));
    await page.goto(`${app.url}/datasets`);
    await page.setInputFiles('[data-testid="upload-zip-input"]', first);
    expect(await page.inputValue('[data-testid="upload-name"]')).toBe('line1-plates');
    await page.click('[data-testid="upload-start"]');
    await page.waitForSelector('[data-testid="upload-done"]', { timeout: 60_000 });
    await page.setInputFiles('[data-testid="upload-zip-input"]', second);
    expect(await page.inputValue('[data-testid="upload-name"]')).toBe('line2-tiles');
    await page.click('[data-testid="upload-start"]');
    await page.waitForSelector('[data-testid="upload-done"]', { timeout: 60_000 });
    expect(await page.textContent('[data-testid="upload-done"]')).toContain('line2-tiles');
  });

  it('never lists a folder being generated or staged', async () => {
    for (const dir of ['sample-steel.partial-123-456/good', 'sample-steel.partial-123-456/bad', '.uploads/abc12345/extract/good']) {
      mkdirSync(path.join(app.datasetsRoot, dir), { recursive: true });
      writeFileSync(path.join(app.datasetsRoot, dir, 'a.png'), await png(3));
    }
    await page.goto(`${app.url}/datasets`);
    await page.waitForSelector('[data-testid="dataset-row"][data-name="line2-tiles"]', { timeout: 30_000 });
    const names = await page.$$eval('[data-testid="dataset-row"]', (rows) => rows.map((r) => r.getAttribute('data-name')));
    expect(names.sort()).toEqual(['line1-plates', 'line2-tiles']);
  });
});
