'use client';

import type { GraphError } from '@defectflow/nodes';
import { useRef, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { DatasetPicker } from './DatasetPicker.tsx';
import { ParamInput } from './ParamInput.tsx';
import { RecentRuns } from './RecentRuns.tsx';
import { useRegistry } from './registry.tsx';
import { fieldValue, isFieldVisible, type ParamField, paramFields } from './schema-form.ts';
import { useEditorStore } from './store.ts';
import type { PipelineNode } from './types.ts';
import { DatasetSelect } from '../datasets/DatasetSelect.tsx';
import { BackboneFileSelect, CutPointSelect } from '../backbones/BackboneSelects.tsx';

function fieldErrors(errors: GraphError[], field: string): GraphError[] {
  return errors.filter((e) => e.field === field || e.field?.startsWith(`${field}.`));
}

/** Strip the "node X param Y" prefix the validator adds: inline, next to the field, it is obvious. */
function shortMessage(e: GraphError, field: ParamField): string {
  const marker = `"${field.name}"`;
  const at = e.message.indexOf(marker);
  const rest = at >= 0 ? e.message.slice(at + marker.length).replace(/^[\s:]+/, '') : e.message;
  // "Must be at most 512 (it is 1000)." under the field: a sentence of its own.
  return rest.length > 0 ? rest.charAt(0).toUpperCase() + rest.slice(1) : e.message;
}

export function Inspector() {
  const selected = useEditorStore(useShallow((s) => s.nodes.filter((n) => n.selected)));
  const node = selected.length === 1 ? selected[0] : undefined;
  return (
    <aside className="dfe-inspector" aria-label="Inspector">
      {node ? <NodeForm key={node.id} node={node} /> : <GraphSummary selectedCount={selected.length} />}
    </aside>
  );
}

function GraphSummary({ selectedCount }: { selectedCount: number }) {
  const nodeCount = useEditorStore((s) => s.nodes.length);
  const edgeCount = useEditorStore((s) => s.edges.length);
  const validation = useEditorStore((s) => s.validation);
  return (
    <div className="dfe-inspector-body">
      <div className="dfe-panel-title">Pipeline</div>
      <p className="dfe-muted">
        {nodeCount} nodes · {edgeCount} connections
        {selectedCount > 1 ? ` · ${selectedCount} selected` : ''}
      </p>
      {validation.errors.length === 0 ? (
        <p className="dfe-ok" data-testid="graph-valid">
          ✓ The graph is valid and ready to run.
        </p>
      ) : (
        <>
          <div className="dfe-section-title" data-testid="graph-problem-count">
            {validation.errors.length} {validation.errors.length === 1 ? 'problem' : 'problems'}
          </div>
          <ul className="dfe-problem-list" data-testid="graph-problems">
            {validation.errors.map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: errors have no id; order is stable
              <li key={i}>
                <ProblemLink error={e} />
              </li>
            ))}
          </ul>
        </>
      )}
      <p className="dfe-muted dfe-small">Select a node to edit its parameters. Press ? for keyboard shortcuts.</p>
      <RecentRuns />
    </div>
  );
}

function ProblemLink({ error }: { error: GraphError }) {
  const selectOnly = useEditorStore((s) => s.selectOnly);
  const target = error.nodeId ?? error.nodeIds?.[0];
  if (!target) return <span>{error.message}</span>;
  return (
    <button type="button" className="dfe-linkish" onClick={() => selectOnly([target])}>
      {error.message}
    </button>
  );
}

function NodeForm({ node }: { node: PipelineNode }) {
  const def = useRegistry().byType.get(node.data.nodeType);
  const errors = useEditorStore((s) => s.validation.byNode[node.id]) ?? [];
  const setParam = useEditorStore((s) => s.setParam);
  const setLabel = useEditorStore((s) => s.setLabel);
  const focusCounter = useRef(0);
  const focusKey = useRef('0');
  const onFocus = () => {
    focusKey.current = String(++focusCounter.current);
  };
  const [picking, setPicking] = useState<string | null>(null);

  if (!def) {
    return (
      <div className="dfe-inspector-body">
        <div className="dfe-panel-title">Unknown node type “{node.data.nodeType}”</div>
        <ul className="dfe-problem-list">
          {errors.map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: errors have no id
            <li key={i}>{e.message}</li>
          ))}
        </ul>
      </div>
    );
  }

  const fields = paramFields(def);
  const values = { ...def.defaults, ...node.data.params };
  const visible = fields.filter((f) => isFieldVisible(f, values));
  const shownFieldErrors = new Set(visible.flatMap((f) => fieldErrors(errors, f.name)));
  const otherErrors = errors.filter((e) => !shownFieldErrors.has(e));

  return (
    <div className="dfe-inspector-body" data-testid="inspector" data-node-id={node.id}>
      <div className="dfe-panel-title">{def.title}</div>
      <p className="dfe-muted dfe-small">{def.description}</p>
      <div className="dfe-field">
        <label className="dfe-label" htmlFor="dfe-node-label">
          Label
        </label>
        <input
          id="dfe-node-label"
          className="dfe-input"
          placeholder={def.title}
          value={node.data.label ?? ''}
          onFocus={onFocus}
          onChange={(e) => setLabel(node.id, e.target.value, focusKey.current)}
        />
        <div className="dfe-help">
          {node.data.nodeType} · id {node.id}
        </div>
      </div>
      {otherErrors.length > 0 ? (
        <ul className="dfe-problem-list" data-testid="node-problems">
          {otherErrors.map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: errors have no id
            <li key={i}>{e.message}</li>
          ))}
        </ul>
      ) : null}
      <div className="dfe-section-title">Parameters</div>
      {visible.map((field) => {
        const errs = fieldErrors(errors, field.name);
        const inputId = `dfe-param-${field.name}`;
        const isDatasetPath = node.data.nodeType === 'dataset' && field.name === 'path';
        const isBackbone = node.data.nodeType === 'backbone';
        return (
          <div className={`dfe-field ${errs.length ? 'has-error' : ''}`} key={field.name} data-testid={`field-${field.name}`}>
            <label className="dfe-label" htmlFor={inputId}>
              {field.title}
              {field.schema.minimum !== undefined && field.schema.maximum !== undefined && field.schema.maximum < 1e12 ? (
                <span className="dfe-range">
                  {field.schema.minimum} – {field.schema.maximum}
                </span>
              ) : null}
            </label>
            <div className="dfe-field-row">
              <ParamInput
                id={inputId}
                field={field}
                value={fieldValue(field, node.data.params)}
                invalid={errs.length > 0}
                onFocus={onFocus}
                onChange={(value, coalesce) => setParam(node.id, field.name, value, coalesce ? focusKey.current : undefined)}
              />
              {isDatasetPath ? (
                <button type="button" className="dfe-btn dfe-btn-small" onClick={() => setPicking(field.name)}>
                  Browse…
                </button>
              ) : null}
              {isDatasetPath ? (
                <DatasetSelect value={String(fieldValue(field, node.data.params) ?? '')} onPick={(p) => setParam(node.id, field.name, p)} />
              ) : null}
              {isBackbone && field.name === 'onnxFile' ? (
                <BackboneFileSelect value={String(fieldValue(field, node.data.params) ?? '')} onPick={(p) => setParam(node.id, field.name, p)} />
              ) : null}
              {isBackbone && field.name === 'onnxCut' ? (
                <CutPointSelect
                  file={String(node.data.params.onnxFile ?? '')}
                  value={String(fieldValue(field, node.data.params) ?? '')}
                  onPick={(p) => setParam(node.id, field.name, p)}
                />
              ) : null}
            </div>
            {errs.map((e, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: errors have no id
              <div className="dfe-field-error" key={i} data-testid="field-error">
                {shortMessage(e, field)}
              </div>
            ))}
            {field.help ? <div className="dfe-help">{field.help}</div> : null}
          </div>
        );
      })}
      {picking ? (
        <DatasetPicker
          initialPath={String(fieldValue(fields.find((f) => f.name === picking) as ParamField, node.data.params) ?? '')}
          onCancel={() => setPicking(null)}
          onPick={(path) => {
            setParam(node.id, picking, path);
            setPicking(null);
          }}
        />
      ) : null}
    </div>
  );
}
