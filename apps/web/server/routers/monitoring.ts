/**
 * The monitoring page of a deployed model (/models/<id>/monitoring): prediction volume, class mix against the
 * training mix, confidence histogram, drift over time with its threshold (all from the prediction log), and the
 * model's alarms (open and recent) with the rules' current values.
 */
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { alarmView } from '../monitoring/alarms.ts';
import { found, viewerProcedure } from '../trpc.ts';

/** Confidence histogram bins over 0..1. */
const HISTOGRAM_BINS = 20;
/** Time buckets the chosen range is cut into (about; the bucket is rounded to a whole number of seconds). */
const TARGET_BUCKETS = 60;

export const monitoringRouter = {
  get: viewerProcedure
    .input(z.object({ modelId: z.string().min(1), hours: z.number().min(0.05).max(24 * 90).default(24) }))
    .query(async ({ ctx, input }) => {
      const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
      const now = Date.now();
      const from = new Date(now - input.hours * 3_600_000);
      const bucketMs = Math.max(1000, Math.round((input.hours * 3_600_000) / TARGET_BUCKETS / 1000) * 1000);
      const [rows, histogram, open, recent] = await Promise.all([
        ctx.repo.predictions.buckets(model.id, from, bucketMs),
        ctx.repo.predictions.confidenceHistogram(model.id, from, HISTOGRAM_BINS),
        ctx.repo.modelAlarms.open(model.id),
        ctx.repo.modelAlarms.list(model.id, 20),
      ]);
      const monitored = { id: model.id, name: model.name, version: model.version, dir: model.dir };
      const trainingMix = ctx.alarms ? await ctx.alarms.trainingMix(monitored) : null;
      const rules = ctx.alarms ? await ctx.alarms.current(monitored) : [];
      // One point per bucket: volume, low-confidence count, drift mean/max/drifted; class counts per bucket.
      const byT = new Map<number, { t: number; count: number; lowConfidence: number; driftCount: number; driftSum: number; driftMax: number | null; drifted: number; classes: Record<string, number> }>();
      for (const r of rows) {
        const b = byT.get(r.t) ?? { t: r.t, count: 0, lowConfidence: 0, driftCount: 0, driftSum: 0, driftMax: null, drifted: 0, classes: {} };
        b.count += r.count;
        b.lowConfidence += r.lowConfidence;
        b.driftCount += r.driftCount;
        b.driftSum += r.driftSum;
        b.drifted += r.drifted;
        if (r.driftMax !== null) b.driftMax = b.driftMax === null ? r.driftMax : Math.max(b.driftMax, r.driftMax);
        b.classes[r.label] = (b.classes[r.label] ?? 0) + r.count;
        byT.set(r.t, b);
      }
      const buckets = [...byT.values()]
        .sort((a, b) => a.t - b.t)
        .map((b) => ({
          t: b.t,
          count: b.count,
          lowConfidence: b.lowConfidence,
          driftMean: b.driftCount ? b.driftSum / b.driftCount : null,
          driftMax: b.driftMax,
          drifted: b.drifted,
          classes: b.classes,
        }));
      const total = buckets.reduce((a, b) => a + b.count, 0);
      const low = buckets.reduce((a, b) => a + b.lowConfidence, 0);
      const drifted = buckets.reduce((a, b) => a + b.drifted, 0);
      const driftScored = rows.reduce((a, r) => a + r.driftCount, 0);
      return {
        model: { id: model.id, name: model.name, version: model.version, stage: model.stage, labels: model.labels },
        range: { from: from.getTime(), to: now, bucketMs },
        totals: { predictions: total, lowConfidence: low, lowConfidenceRate: total ? low / total : null, drifted, driftRate: driftScored ? drifted / driftScored : null },
        buckets,
        histogram: { bins: HISTOGRAM_BINS, counts: histogram, lowConfidenceBelow: ctx.predictionLog.lowConfidenceThreshold },
        trainingMix,
        drift: ctx.alarms ? await ctx.alarms.driftMeta(monitored) : null,
        thresholds: ctx.alarms?.thresholds ?? null,
        rules: rules.map((r) => ({ rule: r.rule, value: r.value, threshold: r.threshold, firing: r.firing, window: r.window, message: r.message })),
        openAlarms: open.map(alarmView),
        recentAlarms: recent.map(alarmView),
      };
    }),

  /** Open alarms only (the banner on the model page). */
  alarms: viewerProcedure.input(z.object({ modelId: z.string().min(1) })).query(async ({ ctx, input }) => {
    return (await ctx.repo.modelAlarms.open(input.modelId)).map(alarmView);
  }),
} satisfies TRPCRouterRecord;
