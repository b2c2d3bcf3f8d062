'use client';

import { PORT_COLORS, type PortSpec } from '@defectflow/nodes';
import { Handle, type NodeProps, Position } from '@xyflow/react';
import { memo } from 'react';
import { CATEGORY_COLORS, useRegistry } from './registry.tsx';
import { paramSummary } from './schema-form.ts';
import { useEditorStore } from './store.ts';
import type { NodeRunState, PipelineNode } from './types.ts';

const RUN_STATE_TEXT: Record<NodeRunState['state'], string> = {
  queued: 'Queued',
  running: 'Running',
  cached: 'Cached',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function PortRow({ port, side }: { port: PortSpec; side: 'in' | 'out' }) {
  const color = PORT_COLORS[port.type];
  return (
    <div className={`dfe-port dfe-port-${side}`} title={`${port.label ?? port.name}: ${port.type}${port.optional ? ' (optional)' : ''}`}>
      <Handle
        type={side === 'in' ? 'target' : 'source'}
        position={side === 'in' ? Position.Left : Position.Right}
        id={port.name}
        className="dfe-handle"
        style={{ background: color, borderColor: color }}
        data-port-type={port.type}
        data-testid={`handle-${side}-${port.name}`}
      />
      <span className="dfe-port-label">
        {port.label ?? port.name}
        {port.optional ? <span className="dfe-port-opt"> opt</span> : null}
      </span>
      <span className="dfe-port-type" style={{ color }}>
        {port.type}
      </span>
    </div>
  );
}

/** A pipeline node card, drawn entirely from its registry definition. */
function PipelineNodeViewInner({ id, data, selected }: NodeProps<PipelineNode>) {
  const def = useRegistry().byType.get(data.nodeType);
  const errors = useEditorStore((s) => s.validation.byNode[id]);
  const run = useEditorStore((s) => s.runStates[id]);
  const accent = def ? (CATEGORY_COLORS[def.category] ?? '#868e96') : '#e03131';
  const classes = ['dfe-node', selected ? 'is-selected' : '', errors ? 'has-errors' : '', run ? `run-${run.state}` : '']
    .filter(Boolean)
    .join(' ');

  return (
    <div className={classes} data-testid={`node-${id}`} data-node-type={data.nodeType}>
      <div className="dfe-node-head" style={{ borderTopColor: accent }}>
        <div className="dfe-node-titles">
          <div className="dfe-node-title">{data.label || def?.title || data.nodeType}</div>
          <div className="dfe-node-sub">{id === data.nodeType ? id : `${data.nodeType} · ${id}`}</div>
        </div>
        {errors ? (
          <span className="dfe-badge dfe-badge-error" data-testid="node-error-badge" title={errors.map((e) => e.message).join('\n')}>
            {errors.length} {errors.length === 1 ? 'error' : 'errors'}
          </span>
        ) : null}
        {run ? (
          <span className={`dfe-badge dfe-run-badge run-${run.state}`} data-testid="node-run-state">
            {RUN_STATE_TEXT[run.state]}
          </span>
        ) : null}
      </div>
      {def ? (
        <div className="dfe-node-ports">
          {def.inputs.map((p) => (
            <PortRow key={`in-${p.name}`} port={p} side="in" />
          ))}
          {def.outputs.map((p) => (
            <PortRow key={`out-${p.name}`} port={p} side="out" />
          ))}
        </div>
      ) : null}
      {def ? <div className="dfe-node-summary">{paramSummary(def, data.params)}</div> : null}
      {run?.state === 'running' && run.progress !== undefined ? (
        <div className="dfe-progress" title={`${Math.round(run.progress * 100)}%`}>
          <div className="dfe-progress-bar" style={{ width: `${Math.round(Math.min(1, Math.max(0, run.progress)) * 100)}%` }} />
        </div>
      ) : null}
      {run?.message && (run.state === 'failed' || run.state === 'running') ? (
        <div className={`dfe-node-runmsg run-${run.state}`}>{run.message}</div>
      ) : null}
      {errors ? (
        <ul className="dfe-node-errors" data-testid="node-errors">
          {errors.slice(0, 3).map((e, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: messages can repeat; order is stable
            <li key={i}>{e.message}</li>
          ))}
          {errors.length > 3 ? <li>… {errors.length - 3} more</li> : null}
        </ul>
      ) : null}
    </div>
  );
}

export const PipelineNodeView = memo(PipelineNodeViewInner);
