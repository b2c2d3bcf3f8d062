/**
 * The alarm evaluator: after each batch of logged predictions (PredictionLog's onRecorded hook, never awaited by the
 * prediction) it appends them to the model's in-memory window of the last ALARM_WINDOW predictions — read back from
 * the prediction log the first time a model is seen, so a restart loses nothing — and judges the rules (rules.ts).
 * A rule that starts firing opens a `model_alarms` row (at most one open per model and rule) and, with
 * ALARM_WEBHOOK_URL, posts it; one that stops firing closes it. Work is serial per model.
 */
import type { AlarmRule, Model, ModelAlarm, PredictionRow, Repositories } from '@defectflow/db';
import { errorMessage, type Logger } from '../log.ts';
import { type ArtifactStore, localDirsStore, modelKeyPrefix } from '../storage.ts';
import { type AlarmThresholds, type RuleResult, type Signal, evaluateRules } from './rules.ts';
import type { AlarmWebhook } from './webhook.ts';

export interface AlarmMonitorOptions {
  repo: Repositories;
  thresholds: AlarmThresholds;
  modelsDir: string;
  /** Where model folders are read (app.ts: the STORAGE_URL store); absent: modelsDir itself. */
  store?: ArtifactStore;
  webhook: AlarmWebhook | null;
  log: Logger;
}

type MonitoredModel = Pick<Model, 'id' | 'name' | 'version' | 'dir'>;

/** What the server reads of defectflow.json's `drift` (engine DriftReferenceMeta). */
export interface DriftMeta {
  threshold: number;
  percentile: number;
  k: number;
  calibration: { split: string; count: number; p50: number; p95: number; p99: number; max: number };
  classCounts: Record<string, number>;
}

export function alarmView(a: ModelAlarm) {
  return {
    id: a.id,
    rule: a.rule,
    value: a.value,
    threshold: a.threshold,
    window: a.window,
    message: a.message,
    raisedAt: a.raisedAt.toISOString(),
    clearedAt: a.clearedAt ? a.clearedAt.toISOString() : null,
  };
}

export class AlarmMonitor {
  private readonly windows = new Map<string, Signal[]>();
  private readonly metas = new Map<string, Promise<DriftMeta | null>>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly models = new Map<string, MonitoredModel>();

  private readonly store: ArtifactStore;

  constructor(readonly options: AlarmMonitorOptions) {
    this.store = options.store ?? localDirsStore({ modelsDir: options.modelsDir });
  }

  get thresholds(): AlarmThresholds {
    return this.options.thresholds;
  }

  /** defectflow.json's drift part (threshold, calibration, training class counts), or null for a model without one. */
  driftMeta(model: MonitoredModel): Promise<DriftMeta | null> {
    let meta = this.metas.get(model.id);
    if (!meta) {
      meta = (async () => {
        try {
          const raw = await this.store.get(`${modelKeyPrefix(this.options.modelsDir, model)}defectflow.json`);
          const json = raw ? JSON.parse(raw.toString('utf8')) : null;
          const drift = json?.drift;
          return drift && typeof drift === 'object' && typeof drift.threshold === 'number' ? (drift as DriftMeta) : null;
        } catch {
          return null;
        }
      })();
      this.metas.set(model.id, meta);
    }
    return meta;
  }

  /** The training set's images per class, or null for a model without a drift reference. */
  async trainingMix(model: MonitoredModel): Promise<Record<string, number> | null> {
    const counts = (await this.driftMeta(model))?.classCounts;
    return counts && typeof counts === 'object' ? counts : null;
  }

  /** Judges the model's rules with `rows` (just logged) added to its window; raises and clears alarms. */
  observe(modelId: string, rows: readonly PredictionRow[]): Promise<void> {
    return this.serial(modelId, async () => {
      try {
        let model = this.models.get(modelId);
        if (!model) {
          const row = await this.options.repo.models.get(modelId);
          if (!row) return;
          model = { id: row.id, name: row.name, version: row.version, dir: row.dir };
          this.models.set(modelId, model);
        }
        const window = await this.window(model.id, rows);
        const results = evaluateRules(window, await this.trainingMix(model), this.options.thresholds);
        for (const r of results) await this.apply(model, r);
      } catch (err) {
        this.options.log.warn(`alarms: could not evaluate model ${modelId}: ${errorMessage(err)}`);
      }
    });
  }

  /** The rules' current values for the monitoring page. */
  current(model: MonitoredModel): Promise<RuleResult[]> {
    return this.serial(model.id, async () => evaluateRules(await this.window(model.id, []), await this.trainingMix(model), this.options.thresholds));
  }

  /** Forgets a deleted model. */
  forget(modelId: string): void {
    this.windows.delete(modelId);
    this.metas.delete(modelId);
    this.models.delete(modelId);
  }

  /** Resolves when every evaluation started so far has finished (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }

  private async window(modelId: string, rows: readonly PredictionRow[]): Promise<Signal[]> {
    let w = this.windows.get(modelId);
    if (!w) {
      // First sight of this model since start: the log already holds `rows` too.
      w = await this.options.repo.predictions.recentSignals(modelId, this.options.thresholds.window);
      this.windows.set(modelId, w);
      return w;
    }
    for (const r of rows) w.push({ label: r.label, lowConfidence: r.lowConfidence, drifted: r.drifted });
    if (w.length > this.options.thresholds.window) w.splice(0, w.length - this.options.thresholds.window);
    return w;
  }

  private async apply(model: MonitoredModel, r: RuleResult): Promise<void> {
    const { repo, webhook, log } = this.options;
    if (r.firing && r.value !== null) {
      const raised = await repo.modelAlarms.raise({ modelId: model.id, rule: r.rule, value: r.value, threshold: r.threshold, window: r.window, message: r.message });
      if (raised) {
        log.warn(`alarm on model ${model.name} v${model.version} (${model.id}): ${r.message}`);
        webhook?.send({ event: 'alarm.raised', model: { id: model.id, name: model.name, version: model.version }, alarm: alarmView(raised) });
      }
    } else if (r.value !== null) {
      const cleared = await repo.modelAlarms.clear(model.id, r.rule as AlarmRule);
      if (cleared) {
        log.info(`alarm cleared on model ${model.name} v${model.version} (${model.id}): ${r.message}`);
        webhook?.send({ event: 'alarm.cleared', model: { id: model.id, name: model.name, version: model.version }, alarm: alarmView(cleared) });
      }
    }
  }

  private serial<T>(modelId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(modelId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => {});
    this.chains.set(modelId, settled);
    void settled.then(() => {
      if (this.chains.get(modelId) === settled) this.chains.delete(modelId);
    });
    return next;
  }
}
