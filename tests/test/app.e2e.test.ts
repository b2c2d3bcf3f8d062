/**
 * The app as a user starts it: the production web server with its embedded runner, PGlite in a temp
 * DATA_DIR, headless Chromium. Restarts keep data; a run's events reach the browser over socket.io and
 * the database holds exactly what the runner logged.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import type { Browser } from 'playwright-core';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppHandle, createTinyDataset, launchBrowser, startApp } from '../src/harness.ts';

interface Row {
  id: string;
  name: string;
}

describe('defectflow app', () => {
  let app: AppHandle;
  let browser: Browser;

  beforeAll(async () => {
    app = await startApp();
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.dispose();
  });

  it('home page shows the seeded product line and a connected runner', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(app.url);
      await page.getByRole('heading', { name: 'Hot-rolled steel strip' }).waitFor({ timeout: 30_000 });
      await page.getByText('Default transfer (MobileNetV2)').first().waitFor();
      const badge = page.getByTestId('runner-badge');
      await badge.filter({ hasText: 'runner: connected' }).waitFor({ timeout: 60_000 });
    } finally {
      await page.close();
    }
  });

  it('without accounts (loopback, AUTH off) shows no user menu and no sign-in', async () => {
    const page = await browser.newPage();
    try {
      const me = page.waitForResponse((r) => r.url().includes('/api/trpc/') && r.url().includes('auth.me'));
      await page.goto(`${app.url}/product-lines`);
      expect((await me).status()).toBe(200);
      await page.getByRole('button', { name: 'Create' }).waitFor();
      await expect(page.getByRole('button', { name: 'Create' }).getAttribute('title')).resolves.toBeNull();
      expect(await page.getByTestId('user-menu').count()).toBe(0);
      expect(new URL(page.url()).pathname).toBe('/product-lines');
      await page.goto(`${app.url}/sign-in`);
      await page.getByTestId('sign-in-off').getByText('No sign-in needed').waitFor();
    } finally {
      await page.close();
    }
  });

  it('keeps data across a restart on the same DATA_DIR, with no duplicate seed', async () => {
    const created = await app.trpc<Row>('productLines.create', { name: 'Cold-rolled coil', description: 'e2e' }, 'mutation');
    await app.restart();
    const lines = await app.trpc<Row[]>('productLines.list');
    expect(lines.map((l) => l.name).sort()).toEqual(['Cold-rolled coil', 'Hot-rolled steel strip', 'Magnetic tile (small defects)']);
    expect(lines.find((l) => l.name === 'Cold-rolled coil')?.id).toBe(created.id);
    const templates = await app.trpc<Row[]>('templates.list');
    expect(templates.filter((t) => t.name === 'Default transfer (MobileNetV2)')).toHaveLength(1);
  });

  it('after a crash (SIGKILL) the runner child does not linger and the app starts again', async () => {
    await app.waitForRunner();
    const status = await app.trpc<{ url: string }>('runner.status');
    await app.kill();
    // The orphaned runner notices its parent is gone (stdin closed) and frees its port.
    const deadline = Date.now() + 20_000;
    let runnerAlive = true;
    while (runnerAlive && Date.now() < deadline) {
      runnerAlive = await fetch(`${status.url}/trpc/capabilities`).then(
        () => true,
        () => false,
      );
      if (runnerAlive) await new Promise((r) => setTimeout(r, 250));
    }
    expect(runnerAlive).toBe(false);
    await app.restart();
    await app.waitForRunner();
    expect((await app.trpc<Row[]>('productLines.list')).length).toBe(3); // two seeded + Cold-rolled coil
  });

  it('runs the default template: live run:event over socket.io, persisted exactly as the runner logged it', async () => {
    await app.waitForRunner();
    const dataset = await createTinyDataset(app, 'tiny-e2e', 12);
    const template = (await app.trpc<Row[]>('templates.list')).find((t) => t.name === 'Default transfer (MobileNetV2)')!;
    const { latest } = await app.trpc<{ latest: { graph: PipelineGraph } }>('templates.get', { id: template.id });
    const small: Record<string, Record<string, unknown>> = {
      dataset: { path: dataset },
      backbone: { inputSize: 64 },
      train: { epochs: 2, batchSize: 8, earlyStopping: false },
      freeze: { mode: 'all' },
    };
    const graph: PipelineGraph = {
      ...latest.graph,
      nodes: latest.graph.nodes.map((n) => ({ ...n, params: { ...n.params, ...small[n.id] } })),
    };

    const socket = io(app.url, { transports: ['websocket'] });
    const live: RunEvent[] = [];
    const finished = new Promise<RunEvent>((resolve) => {
      socket.on('run:event', (e: RunEvent) => {
        live.push(e);
        if (e.type === 'run.finished') resolve(e);
      });
    });
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    try {
      const started = await app.trpc<{ ok: boolean; runId: string; errors?: unknown }>('runs.start', { graph }, 'mutation');
      expect(started, JSON.stringify(started)).toMatchObject({ ok: true });
      socket.emit('run:join', { runId: started.runId, since: 0 });

      const last = await Promise.race([
        finished,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no run.finished:\n${app.logs().slice(-3000)}`)), 240_000)),
      ]);
      // The relay persists asynchronously: wait until the run row has every event and is finished.
      let run: { status: string; lastSeq: number; metrics: unknown; error: string | null } | undefined;
      for (let i = 0; i < 100; i++) {
        run = await app.trpc('runs.get', { runId: started.runId });
        if (run?.status !== 'queued' && run?.status !== 'running' && run?.lastSeq === last.seq) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(run?.lastSeq).toBe(last.seq);
      expect(run?.status).toBe((last as Extract<RunEvent, { type: 'run.finished' }>).status);

      // The DB holds exactly what the runner logged, and the browser saw every event, gap-free.
      const stored = await app.trpc<RunEvent[]>('runs.events', { runId: started.runId, since: 0 });
      const logFile = join(app.dataDir, 'runs', started.runId, 'events.jsonl');
      expect(existsSync(logFile)).toBe(true);
      const logged = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as RunEvent);
      expect(stored).toEqual(logged);
      const seen = [...new Map(live.map((e) => [e.seq, e])).values()].sort((a, b) => a.seq - b.seq);
      expect(seen.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));

      // And the pipeline itself trained, evaluated and deployed (needs the engine's node functions).
      const failures = live.filter((e) => e.type === 'node.failed');
      expect(last, JSON.stringify(failures)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
      expect(live.some((e) => e.type === 'train.epoch')).toBe(true);
      expect(run?.metrics).toBeTruthy();
      const models = await app.trpc<Array<{ runId: string }>>('models.list');
      expect(models.some((m) => m.runId === started.runId)).toBe(true);
    } finally {
      socket.close();
    }
  });
});
