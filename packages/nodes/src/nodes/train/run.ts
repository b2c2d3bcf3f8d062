import { trainOnDataset } from '@defectflow/engine';
import type { TrainParams } from './definition.ts';
import type { NodeRunFn } from '../../runtime/types.ts';
import { asNodeError, ensureBackend, featureCache, input, isDataset, isModel, pct } from '../../runtime/run-helpers.ts';

export const runTrain: NodeRunFn<TrainParams> = async (inputs, params, ctx) => {
  await ensureBackend();
  const dataset = input(inputs, 'dataset', isDataset);
  const model = input(inputs, 'model', isModel);
  try {
    const trained = await trainOnDataset({
      ...params,
      manifest: dataset.manifest,
      augmentation: dataset.augmentation,
      backbone: model.backbone,
      headSpec: model.headSpec,
      cache: featureCache(ctx),
      cacheOwner: ctx.runId,
      maxPixels: ctx.limits?.imageMaxPixels,
      warn: (m) => ctx.log('warn', m),
      // Evaluation (of the test split, by default) usually follows: its features extract while the head trains.
      prefetchSplit: 'test',
      signal: ctx.signal,
      // About eight train.batch events per epoch: enough for a live curve, few enough for the event log.
      batchEventsPerEpoch: 8,
      log: (m) => ctx.log('info', m),
      onProgress: (phase, done, total, etaMs) => ctx.progress(phase, done, total, etaMs),
      onEpoch: (e) =>
        ctx.emit({
          type: 'train.epoch',
          nodeId: ctx.nodeId,
          epoch: e.epoch,
          epochs: e.epochs,
          loss: e.loss,
          acc: e.acc,
          valLoss: e.valLoss,
          valAcc: e.valAcc,
          lr: e.lr,
          etaMs: e.etaMs,
        }),
      onBatch: (b) => ctx.emit({ type: 'train.batch', nodeId: ctx.nodeId, epoch: b.epoch, batch: b.batch, batches: b.batches, loss: b.loss }),
    });
    const best = trained.history[trained.bestEpoch - 1];
    if (trained.stoppedEarly) ctx.log('info', `early stopping after epoch ${trained.history.length}; best epoch ${trained.bestEpoch}`);
    return {
      outputs: { trained },
      summary: {
        epochs: trained.history.length,
        bestEpoch: trained.bestEpoch,
        stoppedEarly: trained.stoppedEarly,
        loss: pct(best?.loss),
        acc: pct(best?.acc),
        valLoss: pct(best?.valLoss),
        valAcc: pct(best?.valAcc),
        trainImages: trained.trainViews,
        durationMs: trained.durationMs,
        path: trained.trainPath,
        engine: trained.stepEngine,
        // Feature views read from the cache vs computed by the backbone: 0 computed = the trial reused the features.
        featuresCached: trained.featureViews.cached,
        featuresExtracted: trained.featureViews.extracted,
      },
    };
  } catch (err) {
    throw asNodeError(err, 'train_failed');
  }
};
