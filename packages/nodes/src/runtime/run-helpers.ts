import path from 'node:path';
import {
  type AugmentPolicy,
  type Backbone,
  type DatasetManifest,
  FeatureCache,
  type HeadSpec,
  type EvaluationReport,
  type TrainedClassifier,
  initBackend,
} from '@defectflow/engine';
import { NodeError, type NodeRunContext } from './types.ts';

/** What flows on a Dataset edge. */
export interface DatasetValue {
  manifest: DatasetManifest;
  augmentation: AugmentPolicy | null;
}
/** What flows on a Model edge: a backbone (maybe frozen) and the head to put on it. */
export interface ModelValue {
  backbone: Backbone;
  headSpec: HeadSpec;
}
export type TrainedModelValue = TrainedClassifier;
export type MetricsValue = EvaluationReport;
export interface DeploymentValue {
  modelId: string;
  dir: string;
  name: string;
}

export async function ensureBackend(): Promise<void> {
  await initBackend();
}

const caches = new Map<string, FeatureCache>();
/**
 * One feature cache per cache dir (and limits) for the whole process: its in-memory LRU is shared
 * across runs. What this run reads or writes there stays on disk until the run ends.
 */
export function featureCache(ctx: Pick<NodeRunContext, 'dirs' | 'limits' | 'runId' | 'atRunEnd'>): FeatureCache {
  const dir = path.join(ctx.dirs.cacheDir, 'features');
  const maxDiskBytes = ctx.limits?.featureCacheMaxBytes;
  const maxMemoryBytes = ctx.limits?.featureCacheMemoryBytes;
  const id = `${dir}\0${maxDiskBytes ?? ''}\0${maxMemoryBytes ?? ''}`;
  let cache = caches.get(id);
  if (!cache) {
    cache = new FeatureCache(dir, { maxDiskBytes, maxMemoryBytes });
    caches.set(id, cache);
  }
  const used = cache;
  ctx.atRunEnd?.(() => used.release(ctx.runId));
  return cache;
}

/** The input value on `port`, or a NodeError naming the port. */
export function input<T>(inputs: Record<string, unknown>, port: string, check: (v: unknown) => v is T): T {
  const value = inputs[port];
  if (value === undefined || value === null) throw new NodeError('required_input_missing', `input "${port}" is not connected`);
  if (!check(value)) throw new NodeError('port_type_mismatch', `input "${port}" does not carry the expected value`);
  return value;
}

// Shape checks of what flows on each port type (the executor only connects matching ports; these catch a stale cache or a stub).
export const isDataset = (v: unknown): v is DatasetValue => typeof v === 'object' && v !== null && 'manifest' in v;
export const isBackbone = (v: unknown): v is Backbone => typeof v === 'object' && v !== null && 'model' in v && 'topology' in v;
export const isModel = (v: unknown): v is ModelValue =>
  typeof v === 'object' && v !== null && 'backbone' in v && 'headSpec' in v && !('history' in v);
export const isTrained = (v: unknown): v is TrainedModelValue => typeof v === 'object' && v !== null && 'head' in v && 'history' in v;
export const isMetrics = (v: unknown): v is MetricsValue => typeof v === 'object' && v !== null && 'accuracy' in v && 'confusion' in v;

/** Engine errors with a machine code (DatasetError, PathOutsideRootError, ImageReadError) keep it. */
export function asNodeError(err: unknown, fallbackCode: string): unknown {
  if (err instanceof NodeError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  return new NodeError(typeof code === 'string' ? code : fallbackCode, message);
}

export function pct(x: number | null | undefined): number | null {
  return x === null || x === undefined || Number.isNaN(x) ? null : Math.round(x * 10000) / 10000;
}
