'use client';
/**
 * The editor's "Sweep…" dialog: tick the params to vary (per node of a sweepable type), say how (range, log
 * scale, list, or the enum/boolean values), pick strategy, budget, metric and parallelism. Checked live with
 * checkSweep — problems show next to the row they name — then sweeps.start with the document context the Run
 * button sends, and off to /sweeps/<id>. Enter starts, Escape closes.
 */
import {
  SWEEP_LIMITS,
  SWEEP_METRIC_LABELS,
  SWEEP_METRICS,
  SWEEP_STRATEGIES,
  type SweepMetric,
  type SweepProblem,
  type SweepStrategy,
  type SweepValue,
  paramKey,
} from '@defectflow/nodes';
import { useMutation } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { type FormEvent, type KeyboardEvent, type ReactNode, useMemo, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import { Modal } from '../editor/Modal.tsx';
import { useRegistry } from '../editor/registry.tsx';
import { formatValue, type ParamField } from '../editor/schema-form.ts';
import { useEditorStore } from '../editor/store.ts';
import {
  checkDrafts,
  currentValue,
  DEFAULT_SETTINGS,
  type DimensionDraft,
  defaultSweepName,
  draftFor,
  gridSize,
  type NumberMode,
  type SettingsDraft,
  type SweepableNode,
  settingsFieldOf,
  sweepableNodes,
  withMode,
} from './dimensions.ts';
import './sweeps.css';

const STRATEGY_HELP: Record<SweepStrategy, string> = {
  grid: 'every combination: range and log rows give “steps” points each',
  random: 'values drawn at random inside the ranges (seeded: the same sweep proposes the same trials)',
  halving: 'successive halving: many short trials first; the best 1 in eta train eta× longer, rung by rung, up to the train node’s epochs',
};

/** What varying a node's params costs per trial (the feature cache sits at the freeze boundary). */
const NODE_COST: Record<string, string> = {
  train: 'Fast: trials reuse the cached features.',
  head: 'Fast: trials reuse the cached features, except for kind and pooling, whose values each compute them again.',
  augment: 'Slower: each distinct value computes the features again.',
  backbone: 'Slower: each distinct value computes the features again.',
  freeze: 'Slower: each distinct value computes the features again.',
};

const MODE_LABELS: Record<NumberMode, string> = { range: 'range', log: 'log scale', list: 'list' };

/** "Dimension 2 (head.dropout): min (…) must be below max (…)." → "Min (…) must be below max (…)." next to its row. */
function inlineMessage(p: SweepProblem): string {
  const rest = p.message.replace(/^Dimension \d+ \([^)]*\):\s*/, '').replace(/^Sweep field "[^"]*":\s*/, '');
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

export function SweepDialog({ onClose }: { onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const { canEdit } = useMe();
  const { byType } = useRegistry();
  const storeNodes = useEditorStore((s) => s.nodes);
  const doc = useEditorStore((s) => s.doc);
  const dirty = useEditorStore((s) => s.dirty);
  // The canvas cannot change under the dialog: one graph for the whole session.
  const [graph] = useState(() => useEditorStore.getState().toGraph());
  const nodes = useMemo(
    () => sweepableNodes(storeNodes.map((n) => ({ id: n.id, type: n.data.nodeType, params: n.data.params, label: n.data.label })), byType),
    [storeNodes, byType],
  );
  const rowKeys = useMemo(() => nodes.flatMap((n) => n.fields.map((f) => paramKey(n.nodeId, f.name))), [nodes]);

  const [drafts, setDrafts] = useState<Record<string, DimensionDraft>>({});
  const [settings, setSettings] = useState<SettingsDraft>(DEFAULT_SETTINGS);
  const [name, setName] = useState('');
  const [serverProblems, setServerProblems] = useState<SweepProblem[]>([]);
  const start = useMutation(trpc.sweeps.start.mutationOptions());

  // Spec order = row order, so a problem's dimension index finds its row.
  const varied = useMemo(() => rowKeys.filter((k) => drafts[k]).map((k) => drafts[k] as DimensionDraft), [rowKeys, drafts]);
  const check = useMemo(() => checkDrafts(graph, varied, settings), [graph, varied, settings]);
  const problems = serverProblems.length > 0 ? serverProblems : check.problems;
  const autoName = defaultSweepName(doc.name, varied);

  const edit = (fn: () => void) => {
    setServerProblems([]);
    start.reset();
    fn();
  };
  const setDraft = (key: string, draft: DimensionDraft | null) =>
    edit(() =>
      setDrafts((all) => {
        const next = { ...all };
        if (draft) next[key] = draft;
        else delete next[key];
        return next;
      }),
    );
  const setSetting = <K extends keyof SettingsDraft>(k: K, v: SettingsDraft[K]) => edit(() => setSettings((s) => ({ ...s, [k]: v })));

  const rowProblems = (key: string) => {
    const i = varied.findIndex((d) => paramKey(d.nodeId, d.param) === key);
    return i < 0 ? [] : problems.filter((p) => p.dimension === i);
  };
  const settingProblems = (k: keyof SettingsDraft) => problems.filter((p) => settingsFieldOf(p) === k);
  // With nothing ticked yet the footer says so; that is not an error to shout about.
  const general = varied.length === 0 ? [] : problems.filter((p) => p.dimension === undefined && settingsFieldOf(p) === null);
  const blocker = !canEdit
    ? NEEDS_ENGINEER
    : varied.length === 0
      ? 'Tick “vary” on at least one parameter'
      : problems.length > 0
        ? `Fix ${problems.length === 1 ? 'the problem' : `${problems.length} problems`} first`
        : null;

  const submit = async (e?: FormEvent) => {
    e?.preventDefault();
    if (blocker || start.isPending) return;
    const result = await start
      .mutateAsync({
        graph,
        spec: check.spec,
        name: name.trim() || autoName,
        pipelineId: doc.pipelineId ?? undefined,
        productLineId: doc.productLineId ?? undefined,
        templateId: doc.templateId ?? undefined,
        templateVersionId: doc.templateVersionId ?? undefined,
      })
      .catch(() => null); // start.error says why
    if (!result) return;
    if (result.ok) {
      onClose();
      router.push(`/sweeps/${encodeURIComponent(result.sweepId)}`);
    } else setServerProblems(result.problems as SweepProblem[]);
  };
  // Enter on a checkbox or select starts too (text fields submit the form by themselves).
  const onKeyDown = (e: KeyboardEvent<HTMLFormElement>) => {
    const el = e.target as HTMLElement;
    if (e.key === 'Enter' && (el instanceof HTMLSelectElement || (el instanceof HTMLInputElement && el.type === 'checkbox'))) {
      e.preventDefault();
      void submit();
    }
  };

  const grid = gridSize(varied);
  const trials = Number(settings.trials);

  return (
    <Modal title="Sweep hyperparameters" onClose={onClose} testId="sweep-dialog" xwide>
      <form className="dfs-dialog" onSubmit={submit} onKeyDown={onKeyDown}>
        <div className="dfs-params" data-testid="sweep-params">
          <p className="dfe-muted dfe-small" style={{ marginTop: 0 }}>
            Tick <strong>vary</strong> on the parameters to search. Each trial is a run of the pipeline as it is on the canvas with other
            values; trials that only change head or training parameters reuse the cached features and take seconds.
          </p>
          {nodes.length === 0 ? (
            <p className="dfs-empty">This pipeline has no augment, backbone, freeze, head or train node: nothing to sweep.</p>
          ) : null}
          {nodes.map((node) => (
            <fieldset key={node.nodeId} className="dfs-node" data-testid={`sweep-node-${node.nodeId}`}>
              <legend>
                {node.title} <span className="dfe-muted">· {node.nodeType} · id {node.nodeId}</span>
              </legend>
              <div className="dfs-node-hint">{NODE_COST[node.nodeType] ?? ''}</div>
              {node.fields.map((field) => {
                const key = paramKey(node.nodeId, field.name);
                return (
                  <ParamRow
                    key={key}
                    node={node}
                    field={field}
                    draft={drafts[key]}
                    strategy={settings.strategy}
                    problems={rowProblems(key)}
                    onChange={(d) => setDraft(key, d)}
                  />
                );
              })}
            </fieldset>
          ))}
        </div>

        <div className="dfs-settings">
          <Setting label="Strategy" problems={settingProblems('strategy')}>
            <select
              className="dfe-input"
              data-testid="sweep-strategy"
              aria-label="Strategy"
              value={settings.strategy}
              onChange={(e) => setSetting('strategy', e.target.value as SweepStrategy)}
            >
              {SWEEP_STRATEGIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
            <div className="dfe-help">{STRATEGY_HELP[settings.strategy]}</div>
          </Setting>
          <div className="dfs-two">
            <Setting label="Trials" problems={settingProblems('trials')}>
              <input
                className="dfe-input dfe-input-num"
                data-testid="sweep-trials"
                aria-label="Trials"
                type="number"
                min={1}
                max={SWEEP_LIMITS.trials}
                step={1}
                value={settings.trials}
                onChange={(e) => setSetting('trials', e.target.value)}
              />
            </Setting>
            <Setting label="Minutes" problems={settingProblems('minutes')}>
              <input
                className="dfe-input dfe-input-num"
                data-testid="sweep-minutes"
                aria-label="Minutes (optional)"
                type="number"
                min={0}
                step="any"
                placeholder="no limit"
                value={settings.minutes}
                onChange={(e) => setSetting('minutes', e.target.value)}
              />
            </Setting>
          </div>
          {settings.strategy === 'grid' && varied.length > 0 ? (
            <p className="dfe-help" data-testid="sweep-grid-size">
              {grid} {grid === 1 ? 'combination' : 'combinations'}
              {Number.isFinite(trials) && trials < grid ? `; the budget of ${trials} trials runs ${trials} of them` : ''}.
              {settings.baseline ? ' The current settings run first (one more trial when they are not a grid point).' : ''}
            </p>
          ) : null}
          {settings.minutes.trim() !== '' ? (
            <p className="dfe-help">No new trial starts after this many minutes; running ones finish.</p>
          ) : null}
          {settings.strategy === 'halving' ? (
            <div className="dfs-two">
              <Setting label="Keep 1 in (eta)" problems={settingProblems('eta')}>
                <input
                  className="dfe-input dfe-input-num"
                  aria-label="Halving eta"
                  type="number"
                  min={2}
                  max={5}
                  value={settings.eta}
                  onChange={(e) => setSetting('eta', e.target.value)}
                />
              </Setting>
              <Setting label="First rung epochs" problems={settingProblems('minEpochs')}>
                <input
                  className="dfe-input dfe-input-num"
                  aria-label="Epochs of the first rung"
                  type="number"
                  min={1}
                  value={settings.minEpochs}
                  onChange={(e) => setSetting('minEpochs', e.target.value)}
                />
              </Setting>
            </div>
          ) : null}
          <label className="dfs-check" title="Trial 1 runs the pipeline as it is, so the sweep shows whether it beat the current settings">
            <input
              type="checkbox"
              data-testid="sweep-baseline"
              checked={settings.baseline}
              onChange={(e) => setSetting('baseline', e.target.checked)}
            />
            Include the current settings as trial 1
          </label>
          <Setting label="Optimise" problems={settingProblems('metric')}>
            <select
              className="dfe-input"
              data-testid="sweep-metric"
              aria-label="Metric to optimise"
              value={settings.metric}
              onChange={(e) => setSetting('metric', e.target.value as SweepMetric)}
            >
              {SWEEP_METRICS.map((m) => (
                <option key={m} value={m}>
                  {SWEEP_METRIC_LABELS[m]}
                  {m === 'valLoss' ? ' (lower is better)' : ''}
                </option>
              ))}
            </select>
            <div className="dfe-help">On the validation split; the test split is scored once, at the end, with the best parameters.</div>
          </Setting>
          <Setting label="Trials at once" problems={settingProblems('parallel')}>
            <input
              className="dfe-input dfe-input-num"
              data-testid="sweep-parallel"
              aria-label="Trials at once"
              type="number"
              min={1}
              max={SWEEP_LIMITS.parallel}
              value={settings.parallel}
              onChange={(e) => setSetting('parallel', e.target.value)}
            />
            <div className="dfe-help">Queued together; several runners take several.</div>
          </Setting>
          <Setting label="Name" problems={[]}>
            <input
              className="dfe-input"
              data-testid="sweep-name"
              aria-label="Sweep name"
              maxLength={120}
              placeholder={varied.length > 0 ? autoName : 'named after what varies'}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
          </Setting>
          <SourceNote pipelineId={doc.pipelineId} templateId={doc.templateId} dirty={dirty} />
          {general.length > 0 ? (
            <ul className="dfe-problem-list" data-testid="sweep-problems">
              {general.map((p, i) => (
                // biome-ignore lint/suspicious/noArrayIndexKey: problems have no id; order is stable
                <li key={i}>
                  {p.message}
                  {p.graphErrors && p.graphErrors.length > 1 ? (
                    <ul className="dfs-graph-errors">
                      {p.graphErrors.slice(1, 4).map((g, j) => (
                        // biome-ignore lint/suspicious/noArrayIndexKey: errors have no id
                        <li key={j}>{g.message}</li>
                      ))}
                    </ul>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : null}
          {start.error ? (
            <p className="dfe-field-error" role="alert" data-testid="sweep-start-error">
              Could not start the sweep: {start.error.message}
            </p>
          ) : null}
          <div className="dfe-modal-actions">
            <span className="dfe-muted dfe-small">{varied.length === 0 ? 'Nothing varies yet.' : `${varied.length} varied`}</span>
            <button type="button" className="dfe-btn" onClick={onClose}>
              Cancel
            </button>
            <button
              type="submit"
              className="dfe-btn dfe-btn-primary"
              data-testid="sweep-start"
              disabled={blocker !== null || start.isPending}
              title={blocker ?? 'Start the sweep (Enter)'}
            >
              {start.isPending ? 'Starting…' : 'Start sweep'}
            </button>
          </div>
        </div>
      </form>
    </Modal>
  );
}

function Setting({ label, problems, children }: { label: string; problems: SweepProblem[]; children: ReactNode }) {
  return (
    <div className={`dfe-field ${problems.length ? 'has-error' : ''}`}>
      <span className="dfe-label">{label}</span>
      {children}
      {problems.map((p, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: problems have no id
        <div className="dfe-field-error" key={i}>
          {inlineMessage(p)}
        </div>
      ))}
    </div>
  );
}

/** Where "Use these parameters" will write, so nobody is surprised later. */
function SourceNote({ pipelineId, templateId, dirty }: { pipelineId: string | null; templateId: string | null; dirty: boolean }) {
  const where = pipelineId
    ? '“Use these parameters” on the sweep page writes the best values into this saved pipeline.'
    : templateId
      ? '“Use these parameters” on the sweep page saves the best values as a new version of this template.'
      : 'This pipeline is not saved: the sweep runs, but its best values can only be copied from the sweep page. Save first to write them back.';
  return (
    <p className="dfe-help" data-testid="sweep-source-note">
      {where}
      {dirty && (pipelineId || templateId) ? ' Trials use the canvas, unsaved changes included.' : ''}
    </p>
  );
}

function ParamRow({
  node,
  field,
  draft,
  strategy,
  problems,
  onChange,
}: {
  node: SweepableNode;
  field: ParamField;
  draft: DimensionDraft | undefined;
  strategy: SweepStrategy;
  problems: SweepProblem[];
  onChange: (draft: DimensionDraft | null) => void;
}) {
  const key = paramKey(node.nodeId, field.name);
  const current = currentValue(node, field);
  const id = `dfs-vary-${key}`;
  return (
    <div className={`dfs-row ${draft ? 'is-varied' : ''} ${problems.length ? 'has-error' : ''}`} data-testid={`sweep-row-${key}`}>
      <div className="dfs-row-head">
        <input
          id={id}
          type="checkbox"
          data-testid={`sweep-vary-${key}`}
          checked={draft !== undefined}
          onChange={(e) => onChange(e.target.checked ? draftFor(node.nodeId, field, current) : null)}
        />
        <label htmlFor={id} className="dfs-row-title" title={field.help}>
          {field.title} <code className="dfs-param">{field.name}</code>
        </label>
        <span className="dfs-current" title="The value on the canvas now">
          {formatValue(current)}
        </span>
      </div>
      {draft ? <DimensionEditor field={field} current={current} draft={draft} strategy={strategy} onChange={onChange} testKey={key} /> : null}
      {problems.map((p, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: problems have no id
        <div className="dfe-field-error" key={i} data-testid="sweep-dim-problem">
          {inlineMessage(p)}
        </div>
      ))}
    </div>
  );
}

function DimensionEditor({
  field,
  current,
  draft,
  strategy,
  onChange,
  testKey,
}: {
  field: ParamField;
  current: unknown;
  draft: DimensionDraft;
  strategy: SweepStrategy;
  onChange: (draft: DimensionDraft) => void;
  testKey: string;
}) {
  if (draft.kind === 'enum' || draft.kind === 'boolean') {
    const options: SweepValue[] = draft.kind === 'boolean' ? [true, false] : ((field.schema.enum ?? []) as SweepValue[]);
    return (
      <fieldset className="dfs-editor dfs-choices" aria-label={`${field.title}: values to try`}>
        {options.map((o) => (
          <label key={String(o)} className="dfs-choice">
            <input
              type="checkbox"
              data-testid={`sweep-choice-${testKey}-${String(o)}`}
              checked={draft.choices.includes(o)}
              onChange={(e) =>
                onChange({
                  ...draft,
                  // Keep the schema's order whatever the clicking order.
                  choices: options.filter((x) => (x === o ? e.target.checked : draft.choices.includes(x))),
                })
              }
            />
            {formatValue(o)}
          </label>
        ))}
      </fieldset>
    );
  }
  const { minimum, maximum } = field.schema;
  const bounds =
    minimum !== undefined || maximum !== undefined
      ? `allowed ${minimum ?? '…'} – ${maximum !== undefined && Math.abs(maximum) < 1e12 ? maximum : '…'}`
      : '';
  return (
    <div className="dfs-editor">
      <select
        className="dfe-input dfs-mode"
        aria-label={`${field.title}: how to vary`}
        data-testid={`sweep-mode-${testKey}`}
        value={draft.mode}
        onChange={(e) => onChange(withMode(draft, field, current, e.target.value as NumberMode))}
      >
        {(['range', 'log', 'list'] as const).map((m) => (
          <option key={m} value={m}>
            {MODE_LABELS[m]}
          </option>
        ))}
      </select>
      {draft.mode === 'list' ? (
        <input
          className="dfe-input dfs-list"
          aria-label={`${field.title}: values, comma-separated`}
          data-testid={`sweep-list-${testKey}`}
          placeholder="e.g. 16, 32, 64"
          value={draft.list}
          onChange={(e) => onChange({ ...draft, list: e.target.value })}
        />
      ) : (
        <>
          <span className="dfe-muted">from</span>
          <input
            className="dfe-input dfe-input-num dfs-num"
            aria-label={`${field.title}: min`}
            data-testid={`sweep-min-${testKey}`}
            inputMode="decimal"
            value={draft.min}
            onChange={(e) => onChange({ ...draft, min: e.target.value })}
          />
          <span className="dfe-muted">to</span>
          <input
            className="dfe-input dfe-input-num dfs-num"
            aria-label={`${field.title}: max`}
            data-testid={`sweep-max-${testKey}`}
            inputMode="decimal"
            value={draft.max}
            onChange={(e) => onChange({ ...draft, max: e.target.value })}
          />
          {strategy === 'grid' ? (
            <>
              <span className="dfe-muted">in</span>
              <input
                className="dfe-input dfe-input-num dfs-steps"
                aria-label={`${field.title}: grid steps`}
                data-testid={`sweep-steps-${testKey}`}
                type="number"
                min={2}
                max={SWEEP_LIMITS.steps}
                value={draft.steps}
                onChange={(e) => onChange({ ...draft, steps: e.target.value })}
              />
              <span className="dfe-muted">steps</span>
            </>
          ) : null}
        </>
      )}
      {bounds ? <span className="dfs-bounds">{bounds}</span> : null}
    </div>
  );
}
