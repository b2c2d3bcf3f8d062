'use client';

import { NODE_CATEGORIES, PORT_COLORS } from '@defectflow/nodes';
import { useReactFlow } from '@xyflow/react';
import type { DragEvent } from 'react';
import { PALETTE_MIME } from './Canvas.tsx';
import { CATEGORY_COLORS, useRegistry } from './registry.tsx';
import { useEditorStore } from './store.ts';

/** Node types grouped by category, straight from the registry. Drag onto the canvas, or click to add at the centre. */
export function Palette() {
  const { definitions } = useRegistry();
  const addNode = useEditorStore((s) => s.addNode);
  const { screenToFlowPosition } = useReactFlow();

  const addAtCentre = (nodeType: string) => {
    const canvas = document.querySelector('.dfe-canvas')?.getBoundingClientRect();
    const centre = canvas
      ? screenToFlowPosition({ x: canvas.left + canvas.width / 2, y: canvas.top + canvas.height / 2 })
      : { x: 0, y: 0 };
    // Nudge each click a little so repeated clicks do not stack cards exactly.
    const jitter = (useEditorStore.getState().nodes.length % 5) * 20;
    addNode(nodeType, { x: centre.x - 110 + jitter, y: centre.y - 50 + jitter });
  };

  const onDragStart = (event: DragEvent, nodeType: string) => {
    event.dataTransfer.setData(PALETTE_MIME, nodeType);
    event.dataTransfer.effectAllowed = 'copy';
  };

  const categories = [...NODE_CATEGORIES, ...new Set(definitions.map((d) => d.category))].filter(
    (c, i, all) => all.indexOf(c) === i && definitions.some((d) => d.category === c),
  );

  return (
    <aside className="dfe-palette" aria-label="Node palette">
      <div className="dfe-panel-title">Nodes</div>
      {categories.map((category) => (
        <section key={category} className="dfe-palette-group">
          <div className="dfe-palette-cat">
            <span className="dfe-dot" style={{ background: CATEGORY_COLORS[category] ?? '#868e96' }} />
            {category}
          </div>
          {definitions
            .filter((d) => d.category === category)
            .map((d) => (
              <button
                key={d.type}
                type="button"
                className="dfe-palette-item"
                draggable
                onDragStart={(e) => onDragStart(e, d.type)}
                onClick={() => addAtCentre(d.type)}
                title={`${d.description}\n\nDrag onto the canvas, or click to add.`}
                data-testid={`palette-${d.type}`}
              >
                <span className="dfe-palette-name">{d.title}</span>
                <span className="dfe-palette-ports">
                  {[...d.inputs, ...d.outputs].map((p, i) => (
                    <span
                      // biome-ignore lint/suspicious/noArrayIndexKey: an input and an output may share a name
                      key={i}
                      className={`dfe-mini-port ${i < d.inputs.length ? 'in' : 'out'}`}
                      style={{ background: PORT_COLORS[p.type] }}
                      title={`${i < d.inputs.length ? 'in' : 'out'}: ${p.type}`}
                    />
                  ))}
                </span>
              </button>
            ))}
        </section>
      ))}
      <div className="dfe-palette-hint">Drag a node onto the canvas. Connect an output (right) to an input (left) of the same colour.</div>
    </aside>
  );
}
