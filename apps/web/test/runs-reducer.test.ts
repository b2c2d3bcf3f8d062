import type { RunEvent, RunEventBody } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import {
  applyEvents,
  estimateEtaMs,
  formatDuration,
  initialRunState,
  overallProgress,
  type RunViewState,
} from '../src/runs/runState.ts';

const RUN = 'run-1';
const T0 = 1_700_000_000_000;

/** Stamps bodies like the runner does: seq 1.., ts one second apart. */
function stamp(bodies: RunEventBody[], firstSeq = 1): RunEvent[] {
  return bodies.map((b, i) => ({ ...b, runId: RUN, seq: firstSeq + i, ts: T0 + (firstSeq + i) * 1000 }) as RunEvent);
}

const script: RunEventBody[] = [
  { type: 'run.started', backend: 'wasm', device: 'CPU (WebAssembly, SIMD, 1 thread)' },
  { type: 'node.started', nodeId: 'ds', nodeType: 'dataset' },
  { type: 'node.progress', nodeId: 'ds', phase: 'decode', done: 5, total: 10, etaMs: 5000 },
  { type: 'node.finished', nodeId: 'ds', nodeType: 'dataset', summary: { items: 40 }, durationMs: 1200 },
  { type: 'node.cached', nodeId: 'bb', nodeType: 'backbone' },
  { type: 'node.started', nodeId: 'tr', nodeType: 'train' },
  { type: 'train.batch', nodeId: 'tr', epoch: 1, batch: 1, batches: 2, loss: 1.2 },
  { type: 'train.batch', nodeId: 'tr', epoch: 1, batch: 2, batches: 2, loss: 1.0 },
  { type: 'train.epoch', nodeId: 'tr', epoch: 1, epochs: 2, loss: 1.1, acc: 0.5, valLoss: 1.05, valAcc: 0.55, lr: 0.001, etaMs: 4000 },
  { type: 'node.log', nodeId: 'tr', level: 'warn', message: 'class imbalance' },
  { type: 'train.batch', nodeId: 'tr', epoch: 2, batch: 1, batches: 2, loss: 0.8 },
  { type: 'train.batch', nodeId: 'tr', epoch: 2, batch: 2, batches: 2, loss: 0.6 },
  { type: 'train.epoch', nodeId: 'tr', epoch: 2, epochs: 2, loss: 0.7, acc: 0.8, valLoss: null, valAcc: null, lr: 0.001 },
  { type: 'node.finished', nodeId: 'tr', nodeType: 'train', summary: {}, durationMs: 9000 },
  { type: 'node.failed', nodeId: 'ev', nodeType: 'evaluate', code: 'empty_split', message: 'no test items' },
  { type: 'run.finished', status: 'failed', error: 'evaluate failed', durationMs: 15000 },
];

function fold(events: RunEvent[][]): RunViewState {
  return events.reduce((s, batch) => applyEvents(s, batch), initialRunState(RUN));
}

/** The user-visible parts of the state (events array aside). */
function visible(s: RunViewState) {
  const { events: _events, ...rest } = s;
  return rest;
}

describe('run event reducer', () => {
  it('folds a whole run into node states, curves, logs and final status', () => {
    const s = fold([stamp(script)]);
    expect(s.status).toBe('failed');
    expect(s.backend).toBe('wasm');
    expect(s.device).toContain('WebAssembly');
    expect(s.lastSeq).toBe(script.length);
    expect(s.nodes.ds).toMatchObject({ state: 'done', nodeType: 'dataset', progress: 1, durationMs: 1200 });
    expect(s.nodes.bb?.state).toBe('cached');
    expect(s.nodes.tr?.state).toBe('done');
    expect(s.nodes.ev).toMatchObject({ state: 'failed', code: 'empty_split', message: 'no test items' });
    expect(s.epochs.map((p) => [p.epoch, p.loss, p.valLoss])).toEqual([
      [1, 1.1, 1.05],
      [2, 0.7, null],
    ]);
    // Batches sit on the epoch axis: the last batch of epoch N lands on x = N.
    expect(s.batches.map((b) => b.x)).toEqual([0.5, 1, 1.5, 2]);
    expect(s.logs.map((l) => l.level)).toEqual(['warn', 'error']);
    expect(s.logs[1]?.message).toContain('empty_split');
    expect(s.durationMs).toBe(15000);
    expect(s.error).toBe('evaluate failed');
  });

  it('gives the same state whatever the arrival order, and ignores duplicates', () => {
    const all = stamp(script);
    const inOrder = fold([all]);
    // Live events first, then the history replay overlapping them (what a reconnect looks like).
    const live = all.slice(8);
    const history = all.slice(0, 10);
    const shuffled = fold([live, history, all.slice(3, 6), [all[0] as RunEvent, all[0] as RunEvent]]);
    expect(visible(shuffled)).toEqual(visible(inOrder));
    expect(shuffled.events.map((e) => e.seq)).toEqual(all.map((e) => e.seq));
  });

  it('returns the same object when nothing new arrives (no re-render)', () => {
    const s = fold([stamp(script.slice(0, 4))]);
    expect(applyEvents(s, stamp(script.slice(0, 4)))).toBe(s);
    expect(applyEvents(s, [])).toBe(s);
  });

  it('ignores events of another run', () => {
    const other = stamp(script).map((e) => ({ ...e, runId: 'other' }));
    expect(fold([other]).events).toHaveLength(0);
  });

  it('resumes: lastSeq is what a reconnect asks for with `since`', () => {
    const all = stamp(script);
    const before = fold([all.slice(0, 7)]);
    expect(before.lastSeq).toBe(7);
    expect(before.status).toBe('running');
    expect(before.nodes.tr?.state).toBe('running');
    const after = applyEvents(before, all.filter((e) => e.seq > before.lastSeq));
    expect(visible(after)).toEqual(visible(fold([all])));
  });

  it('marks nodes still running when the run is cancelled as stopped', () => {
    const s = fold([
      stamp([
        { type: 'run.started', backend: 'cpu', device: 'CPU' },
        { type: 'node.started', nodeId: 'tr', nodeType: 'train' },
        { type: 'run.finished', status: 'cancelled', durationMs: 10 },
      ]),
    ]);
    expect(s.status).toBe('cancelled');
    // Cancelled, not failed: the node did nothing wrong (issue 20 item 10).
    expect(s.nodes.tr?.state).toBe('cancelled');
    expect(s.nodes.tr?.message).toBe('cancelled');
  });

  it('marks nodes still running when the run fails elsewhere as failed', () => {
    const s = fold([
      stamp([
        { type: 'node.started', nodeId: 'tr', nodeType: 'train' },
        { type: 'run.finished', status: 'failed', durationMs: 10, error: 'boom' },
      ]),
    ]);
    expect(s.nodes.tr?.state).toBe('failed');
  });

  it('places 1-based epochs and batches (the event union numbers them from 1) on the epoch axis', () => {
    const s = fold([
      stamp([
        { type: 'node.started', nodeId: 'tr', nodeType: 'train' },
        { type: 'train.batch', nodeId: 'tr', epoch: 1, batch: 1, batches: 2, loss: 1 },
        { type: 'train.batch', nodeId: 'tr', epoch: 1, batch: 2, batches: 2, loss: 1 },
        { type: 'train.epoch', nodeId: 'tr', epoch: 1, epochs: 4, loss: 1, acc: 0.5, valLoss: 1, valAcc: 0.5, lr: 0.01 },
      ]),
    ]);
    expect(s.batches.map((b) => b.x)).toEqual([0.5, 1]);
    // Training is the train node's last 40 % (feature extraction comes first): epoch 1 of 4 → 0.6 + 0.25 × 0.4.
    expect(s.nodes.tr?.progress).toBeCloseTo(0.7, 10);
    expect(s.nodes.tr?.message).toBe('epoch 1/4');
  });
});

describe('overall progress and ETA', () => {
  const graph = [
    { id: 'ds', type: 'dataset' },
    { id: 'bb', type: 'backbone' },
    { id: 'tr', type: 'train' },
    { id: 'ev', type: 'evaluate' },
  ];

  it('weights training heavier and counts unseen graph nodes as not started', () => {
    const all = stamp(script);
    const early = fold([all.slice(0, 4)]); // dataset done
    const mid = fold([all.slice(0, 9)]); // epoch 1 of 2 done
    const p0 = overallProgress(early, graph);
    const p1 = overallProgress(mid, graph);
    expect(p0).toBeGreaterThan(0);
    expect(p1).toBeGreaterThan(p0);
    expect(p1).toBeLessThan(1);
    // dataset 1.5 + backbone 0.3 + train 20 × (0.6 + 0.5 × 0.4) of total 1.5 + 0.3 + 20 + 2
    expect(p1).toBeCloseTo((1.5 + 0.3 + 20 * 0.8) / 23.8, 5);
    expect(overallProgress(fold([stamp([...script.slice(0, 14), { type: 'run.finished', status: 'succeeded', durationMs: 1 }])]), graph)).toBe(1);
  });

  // Issue 20 item 5: the bar went 59 % → 33 % and "ETA 11s" was the feature extraction's, not the run's.
  it('never moves backwards through the train node’s phases, and ignores an ETA that covers one early phase', () => {
    const phases = (phase: string, total: number, etaMs: number) =>
      Array.from({ length: total + 1 }, (_, done) => ({ type: 'node.progress' as const, nodeId: 'tr', phase, done, total, etaMs }));
    const events = stamp([
      { type: 'run.started', backend: 'cpu', device: 'CPU' },
      { type: 'node.started', nodeId: 'ds', nodeType: 'dataset' },
      ...phases('scan', 2, 100).map((e) => ({ ...e, nodeId: 'ds' })),
      ...phases('check', 4, 100).map((e) => ({ ...e, nodeId: 'ds' })),
      { type: 'node.finished', nodeId: 'ds', nodeType: 'dataset', summary: {}, durationMs: 800 },
      { type: 'node.started', nodeId: 'bb', nodeType: 'backbone' },
      { type: 'node.finished', nodeId: 'bb', nodeType: 'backbone', summary: {}, durationMs: 200 },
      { type: 'node.started', nodeId: 'tr', nodeType: 'train' },
      ...phases('features:train + 1 augmented view', 6, 2000),
      ...phases('features:small-class views', 3, 500),
      ...phases('features:val', 3, 300),
      ...[1, 2, 3, 4].map((epoch) => ({ type: 'train.epoch' as const, nodeId: 'tr', epoch, epochs: 4, loss: 1, acc: 0.5, valLoss: 1, valAcc: 0.5, lr: 0.01, etaMs: (4 - epoch) * 1000 })),
      { type: 'node.finished', nodeId: 'tr', nodeType: 'train', summary: {}, durationMs: 29_000 },
      { type: 'node.started', nodeId: 'ev', nodeType: 'evaluate' },
      ...phases('features:eval', 2, 100).map((e) => ({ ...e, nodeId: 'ev' })),
    ]);
    const seen: number[] = [];
    let state = fold([events.slice(0, 1)]);
    for (const e of events.slice(1)) {
      state = applyEvents(state, [e]);
      seen.push(overallProgress(state, graph));
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1] as number);
    expect(seen.at(-1)).toBeGreaterThan(0.9);
    // While features are extracted, their 2 s ETA is not the run's: the run extrapolates instead.
    const during = events.findIndex((e) => e.type === 'node.progress' && e.phase.startsWith('features:train') && e.done === 3);
    const mid = fold([events.slice(0, during + 1)]);
    const at = (mid.startedTs as number) + 10_000;
    const p = overallProgress(mid, graph);
    expect(estimateEtaMs(mid, at, graph)).toBeCloseTo((10_000 * (1 - p)) / p, 5);
  });

  it('uses the running node’s reported ETA, aged by the time since it was reported', () => {
    const all = stamp(script);
    const mid = fold([all.slice(0, 9)]); // train.epoch at seq 9 reported etaMs 4000
    const reportedAt = all[8]?.ts as number;
    expect(estimateEtaMs(mid, reportedAt, graph)).toBe(4000);
    expect(estimateEtaMs(mid, reportedAt + 1500, graph)).toBe(2500);
    expect(estimateEtaMs(mid, reportedAt + 10_000, graph)).toBe(0);
  });

  it('extrapolates from elapsed time when no node reports an ETA, and is null when finished', () => {
    const s = fold([
      stamp([
        { type: 'run.started', backend: 'cpu', device: 'CPU' },
        { type: 'node.started', nodeId: 'a', nodeType: 'x' },
        { type: 'node.finished', nodeId: 'a', nodeType: 'x', summary: {}, durationMs: 1 },
        { type: 'node.started', nodeId: 'b', nodeType: 'x' },
      ]),
    ]);
    const nodes = [
      { id: 'a', type: 'x' },
      { id: 'b', type: 'x' },
    ];
    // half done after 10 s → 10 s left
    expect(estimateEtaMs(s, (s.startedTs as number) + 10_000, nodes)).toBeCloseTo(10_000, 5);
    expect(estimateEtaMs(fold([stamp(script)]), T0 + 1e6, graph)).toBeNull();
  });

  it('formats durations', () => {
    expect(formatDuration(12_300)).toBe('12s');
    expect(formatDuration(2_340)).toBe('2.3s');
    expect(formatDuration(65_000)).toBe('1m 05s');
    expect(formatDuration(3_725_000)).toBe('1h 02m');
    expect(formatDuration(null)).toBe('–');
  });
});
