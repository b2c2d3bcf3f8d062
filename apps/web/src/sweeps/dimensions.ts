/**
 * The sweep dialog's model (pure, tested in apps/web/test/sweep-dimensions.test.ts): which params of which nodes
 * can vary, what a fresh "vary" row proposes, and the spec the rows make — checked with the same checkSweep the
 * server runs, so a problem shows next to its row before anything is sent.
 */
import {
  checkSweep,
  paramKey,
  type SerializedNodeDefinition,
  SWEEPABLE_NODE_TYPES,
  type SweepMetric,
  type SweepProblem,
  type SweepSpecInput,
  type SweepStrategy,
  type SweepValue,
} from '@defectflow/nodes';
import { fieldValue, isFieldVisible, type ParamField, paramFields } from '../editor/schema-form.ts';

/** A canvas node as the dialog sees it. */
export interface GraphNodeLike {
  id: string;
  type: string;
  params: Record<string, unknown>;
  label?: string;
}

export interface SweepableNode {
  nodeId: string;
  nodeType: string;
  /** The node's label, else its type's title. */
  title: string;
  /** Number, integer, enum and boolean params shown under the node's current settings. */
  fields: ParamField[];
  /** The node's params with defaults filled in. */
  values: Record<string, unknown>;
}

const SWEEPABLE_KINDS = new Set(['number', 'integer', 'enum', 'boolean']);

/**
 * Nodes whose params a sweep may vary: training and head first (the usual suspects, and their trials reuse the
 * cached features), then augment, backbone and freeze (each distinct value computes the features again).
 */
const NODE_ORDER = ['train', 'head', 'augment', 'backbone', 'freeze'] as const;

export function sweepableNodes(nodes: GraphNodeLike[], byType: Map<string, SerializedNodeDefinition>): SweepableNode[] {
  const sweepable = SWEEPABLE_NODE_TYPES as readonly string[];
  const order: readonly string[] = [...NODE_ORDER, ...sweepable.filter((t) => !(NODE_ORDER as readonly string[]).includes(t))];
  return nodes
    .filter((n) => sweepable.includes(n.type) && byType.has(n.type))
    .sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type) || a.id.localeCompare(b.id))
    .map((n) => {
      const def = byType.get(n.type) as SerializedNodeDefinition;
      const values = { ...def.defaults, ...n.params };
      return {
        nodeId: n.id,
        nodeType: n.type,
        title: n.label?.trim() || def.title,
        fields: paramFields(def).filter((f) => SWEEPABLE_KINDS.has(f.kind) && isFieldVisible(f, values)),
        values,
      };
    })
    .filter((n) => n.fields.length > 0);
}

export type NumberMode = 'range' | 'log' | 'list';

/** One varied param as the form holds it: text as typed, so a half-typed number is not lost. */
export interface DimensionDraft {
  nodeId: string;
  param: string;
  kind: ParamField['kind'];
  /** Numbers only. */
  mode: NumberMode;
  min: string;
  max: string;
  steps: string;
  /** Comma-separated values (mode list). */
  list: string;
  /** Enums and booleans: the values picked. */
  choices: SweepValue[];
}

/** Params that span orders of magnitude: a log scale is the sensible first guess. */
const LOG_SCALE_NAME = /(learningRate|weightDecay|LrFactor|^lr)$/i;

/** A number as short as it can be without losing the value's first digits (0.0001, 250, 0.35). */
export function shortNumber(n: number): string {
  return String(Number(n.toPrecision(3)));
}

function lowerBound(field: ParamField): number | undefined {
  return field.schema.minimum ?? field.schema.exclusiveMinimum;
}
function upperBound(field: ParamField): number | undefined {
  const hi = field.schema.maximum ?? field.schema.exclusiveMaximum;
  return hi !== undefined && Math.abs(hi) < 1e12 ? hi : undefined;
}

function clamp(value: number, lo: number | undefined, hi: number | undefined): number {
  return Math.min(hi ?? Number.POSITIVE_INFINITY, Math.max(lo ?? Number.NEGATIVE_INFINITY, value));
}

/**
 * The ends a fresh row proposes around the current value, inside the schema's bounds: ÷10…×10 on a log scale,
 * ÷2…×2 on a linear one (0 → the schema's whole range, else 0…1). Integers are rounded and kept apart.
 */
export function proposedRange(field: ParamField, current: number, mode: 'range' | 'log'): { min: number; max: number } {
  const lo = lowerBound(field);
  const hi = upperBound(field);
  const factor = mode === 'log' ? 10 : 2;
  let min: number;
  let max: number;
  if (current > 0) {
    min = clamp(current / factor, lo, hi);
    max = clamp(current * factor, lo, hi);
  } else {
    min = clamp(lo ?? 0, lo, hi);
    max = clamp(hi ?? min + 1, lo, hi);
  }
  if (mode === 'log' && min <= 0) min = max > 0 ? max / 100 : 1e-6;
  if (field.kind === 'integer') {
    min = Math.round(min);
    max = Math.round(max);
    if (max <= min) max = hi !== undefined && min + 1 > hi ? hi : min + 1;
    if (max <= min) min = max - 1;
  }
  return { min, max };
}

/** What a row proposes when its "vary" box is ticked. */
export function draftFor(nodeId: string, field: ParamField, current: unknown): DimensionDraft {
  const base: DimensionDraft = { nodeId, param: field.name, kind: field.kind, mode: 'range', min: '', max: '', steps: '5', list: '', choices: [] };
  if (field.kind === 'enum') return { ...base, mode: 'list', choices: [...((field.schema.enum ?? []) as SweepValue[])] };
  if (field.kind === 'boolean') return { ...base, mode: 'list', choices: [true, false] };
  const value = typeof current === 'number' ? current : typeof field.defaultValue === 'number' ? field.defaultValue : 0;
  const mode: NumberMode = LOG_SCALE_NAME.test(field.name) && value > 0 ? 'log' : 'range';
  const { min, max } = proposedRange(field, value, mode);
  return { ...base, mode, min: shortNumber(min), max: shortNumber(max), list: shortNumber(value) };
}

/** Switching a number row between range, log and list: fresh ends for the new scale, the list keeps what was typed. */
export function withMode(draft: DimensionDraft, field: ParamField, current: unknown, mode: NumberMode): DimensionDraft {
  if (mode === 'list' || draft.mode === 'list') return { ...draft, mode };
  const value = typeof current === 'number' ? current : Number(draft.min) || 0;
  const { min, max } = proposedRange(field, value, mode);
  return { ...draft, mode, min: shortNumber(min), max: shortNumber(max) };
}

/** Comma- (or space-) separated text → numbers; the first entry that is not one is named. */
export function parseNumberList(text: string): { values: number[]; bad?: string } {
  const parts = text
    .split(/[,;\s]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  const values: number[] = [];
  for (const p of parts) {
    const n = Number(p);
    if (!Number.isFinite(n)) return { values, bad: p };
    values.push(n);
  }
  return { values };
}

function parseNumber(text: string): number | null {
  if (text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

/** Strategy, budget, metric and parallelism as the form holds them. */
export interface SettingsDraft {
  strategy: SweepStrategy;
  trials: string;
  /** Empty: no time limit. */
  minutes: string;
  metric: SweepMetric;
  parallel: string;
  eta: string;
  minEpochs: string;
  /** Trial 1 runs the pipeline's current settings (spec.baseline). */
  baseline: boolean;
}

export const DEFAULT_SETTINGS: SettingsDraft = {
  strategy: 'random',
  trials: '20',
  minutes: '',
  metric: 'macroF1',
  parallel: '2',
  eta: '3',
  minEpochs: '3',
  baseline: true,
};

/** How many combinations a grid over these rows has (before integer rounding merges any). */
export function gridSize(drafts: DimensionDraft[]): number {
  return drafts.reduce((n, d) => {
    if (d.kind === 'enum' || d.kind === 'boolean') return n * Math.max(1, d.choices.length);
    if (d.mode === 'list') return n * Math.max(1, parseNumberList(d.list).values.length);
    return n * Math.max(1, Number.parseInt(d.steps, 10) || 5);
  }, 1);
}

export interface BuiltSpec {
  spec: SweepSpecInput;
  /** Problems of the form itself (text that is not a number, no value picked), in checkSweep's shape. */
  problems: SweepProblem[];
}

/** The spec the form describes. A row whose text does not parse still holds its place, so indexes match the rows. */
export function buildSpec(drafts: DimensionDraft[], settings: SettingsDraft): BuiltSpec {
  const problems: SweepProblem[] = [];
  const dimensions = drafts.map((d, i) => {
    const ref = { nodeId: d.nodeId, param: d.param };
    const say = (message: string) =>
      problems.push({ code: 'sweep_value_invalid', dimension: i, nodeId: d.nodeId, field: d.param, message: `Dimension ${i + 1} (${paramKey(d.nodeId, d.param)}): ${message}` });
    if (d.kind === 'enum' || d.kind === 'boolean') {
      if (d.choices.length === 0) say('pick at least one value.');
      return { ...ref, kind: 'list' as const, values: d.choices };
    }
    if (d.mode === 'list') {
      const { values, bad } = parseNumberList(d.list);
      if (bad !== undefined) say(`“${bad}” is not a number.`);
      else if (values.length === 0) say('enter at least one value (comma-separated).');
      return { ...ref, kind: 'list' as const, values };
    }
    const min = parseNumber(d.min);
    const max = parseNumber(d.max);
    const steps = Number(d.steps);
    if (min === null) say(d.min.trim() === '' ? 'enter a min.' : `min “${d.min}” is not a number.`);
    if (max === null) say(d.max.trim() === '' ? 'enter a max.' : `max “${d.max}” is not a number.`);
    return { ...ref, kind: d.mode, min: min ?? Number.NaN, max: max ?? Number.NaN, steps: Number.isFinite(steps) ? steps : Number.NaN };
  });
  const minutes = settings.minutes.trim() === '' ? undefined : Number(settings.minutes);
  const spec: SweepSpecInput = {
    dimensions,
    strategy: settings.strategy,
    metric: settings.metric,
    budget: { trials: Number(settings.trials), ...(minutes === undefined ? {} : { minutes }) },
    parallel: Number(settings.parallel),
    baseline: settings.baseline,
    ...(settings.strategy === 'halving' ? { halving: { eta: Number(settings.eta), minEpochs: Number(settings.minEpochs) } } : {}),
  };
  return { spec, problems };
}

/**
 * The form's problems plus checkSweep's (the server's own check) on the graph as it is on the canvas. A row the
 * form already faults is not faulted again by checkSweep for the same text.
 */
export function checkDrafts(graph: unknown, drafts: DimensionDraft[], settings: SettingsDraft): { spec: SweepSpecInput; problems: SweepProblem[] } {
  const built = buildSpec(drafts, settings);
  if (drafts.length === 0) {
    return { spec: built.spec, problems: [{ code: 'sweep_invalid', message: 'Tick “vary” on at least one parameter.' }] };
  }
  // checkSweep stops at a spec that does not parse: check the rows the form did not fault, then map them back.
  const faulted = new Set(built.problems.map((p) => p.dimension));
  const kept = built.spec.dimensions.map((_, i) => i).filter((i) => !faulted.has(i));
  const checked = checkSweep(graph, { ...built.spec, dimensions: kept.map((i) => built.spec.dimensions[i]) });
  const more = checked.ok
    ? []
    : checked.problems
        .filter((p) => !(kept.length === 0 && p.field === 'dimensions'))
        .map((p) => {
          if (p.dimension === undefined) return p;
          const row = kept[p.dimension] as number;
          return { ...p, dimension: row, message: p.message.replace(/^Dimension \d+ \(/, `Dimension ${row + 1} (`) };
        });
  return { spec: built.spec, problems: [...built.problems, ...more] };
}

/** The settings field (trials, minutes, …) a spec-level problem is about, from its zod path. */
export function settingsFieldOf(problem: SweepProblem): keyof SettingsDraft | null {
  const f = problem.field ?? '';
  if (problem.dimension !== undefined) return null;
  if (f.startsWith('budget.trials')) return 'trials';
  if (f.startsWith('budget.minutes')) return 'minutes';
  if (f.startsWith('parallel')) return 'parallel';
  if (f.startsWith('halving.eta')) return 'eta';
  if (f.startsWith('halving.minEpochs')) return 'minEpochs';
  if (f.startsWith('strategy')) return 'strategy';
  if (f.startsWith('metric')) return 'metric';
  return null;
}

/** A default name: which pipeline, what varies (the server names an unnamed sweep the same way). */
export function defaultSweepName(docName: string, drafts: DimensionDraft[]): string {
  return `${docName.trim() || 'Pipeline'} — ${drafts.map((d) => paramKey(d.nodeId, d.param)).join(', ')}`.slice(0, 120);
}

/** The current value shown next to a param (the node's own, else its default). */
export function currentValue(node: SweepableNode, field: ParamField): unknown {
  return fieldValue(field, node.values);
}
