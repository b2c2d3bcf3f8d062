/**
 * Disk full on DATA_DIR mid-run: DATA_DIR (PGlite, events.jsonl, feature cache, models) is a small tmpfs
 * that the test fills while a run trains (without permission to mount: the runner's file size is capped with
 * RLIMIT_FSIZE instead, see src/small-disk.ts). The run must end with a clear write error instead of hanging,
 * the queue must not jam (after space is freed the next run works), and nothing saved before is lost.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppHandle } from '../src/harness.ts';
import {
  counts,
  endApp,
  endlessGraph,
  expectNothingLost,
  quickGraph,
  report,
  runnerPid,
  type RunnerStatusView,
  runToEnd,
  secs,
  snapshot,
  startAppWithRunner,
  startRun,
  waitForEvent,
  waitForRunEnd,
  waitUntil,
} from '../src/reliability.ts';
import { createSmallDisk, type SmallDisk } from '../src/small-disk.ts';

describe('faults: disk full on DATA_DIR', () => {
  let disk: SmallDisk;
  let datasetsRoot: string;
  let app: AppHandle;

  beforeAll(async () => {
    // PGlite takes ~40 MiB; the rest is room for a few runs.
    disk = createSmallDisk(72);
    // The datasets live elsewhere (read-only input); everything the server and runner write is on the small disk.
    datasetsRoot = mkdtempSync(join(tmpdir(), 'defectflow-disk-datasets-'));
    await generateSampleDataset(join(datasetsRoot, 'tiny'), { perClass: 8, size: 64, seed: 7, classes: ['crazing', 'inclusion', 'scratches'] });
    app = await startAppWithRunner({ dataDir: disk.dir, env: { DATASETS_ROOT: datasetsRoot } });
  });

  afterAll(async () => {
    // DATA_DIR is the small disk, not the harness's: endApp stops the app and leaves the disk to disk.dispose().
    await endApp(app, 'faults-disk');
    disk?.dispose();
    if (datasetsRoot) rmSync(datasetsRoot, { recursive: true, force: true });
  });

  it('the run ends with a "no space" error, the queue is not jammed, nothing saved is lost', async () => {
    const first = await runToEnd(app, quickGraph('tiny', { epochs: 2 }, { name: 'disk-baseline', gateMetric: 'none' }));
    expect(first.run.status, first.run.error ?? '').toBe('succeeded');

    const runId = await startRun(app, endlessGraph('tiny', 3));
    await waitForEvent(app, runId, (e) => e.type === 'train.epoch');
    const before = await snapshot(app);
    const pid = runnerPid(app);
    const t0 = Date.now();
    disk.fill(pid);

    // While the disk is full the runner must give the run up (and free its slot) rather than hang on it.
    await waitUntil(
      'the runner to let go of the run on the full disk',
      async () => {
        const s = await app.trpc<RunnerStatusView>('runner.status');
        return s.connected && s.currentRunId !== runId;
      },
      90_000,
    );
    const releasedMs = Date.now() - t0;
    disk.free(pid);
    const row = await waitForRunEnd(app, runId, 90_000);
    const endedMs = Date.now() - t0;
    expect(['failed', 'interrupted']).toContain(row.status);
    expect(row.error).toMatch(/no space|ENOSPC|EFBIG|disk|file too large/i);
    // One sentence, said once.
    expect(row.error?.match(/could not write/g) ?? []).toHaveLength(1);

    const after = await snapshot(app);
    expectNothingLost(before, after);

    // Space is back: the next run starts and trains.
    const t1 = Date.now();
    const next = await runToEnd(app, quickGraph('tiny', { epochs: 2, seed: 9 }));
    expect(next.run.status, next.run.error ?? '').toBe('succeeded');
    report('faults', 'disk full on DATA_DIR', {
      mode: disk.mode,
      status: row.status,
      error: row.error,
      runnerReleasedRunS: secs(releasedMs),
      runEndedS: secs(endedMs),
      nextRun: next.run.status,
      nextRunS: secs(Date.now() - t1),
      before: counts(before),
      after: counts(after),
    });
  });
});
