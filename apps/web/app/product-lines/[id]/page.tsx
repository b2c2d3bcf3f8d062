'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../../../src/client/auth.ts';
import { useTRPC } from '../../../src/client/trpc.ts';
import { InstantiateDialog } from '../../../src/editor/productLines/InstantiateDialog.tsx';
import { RenameProductLine } from '../../../src/editor/productLines/RenameProductLine.tsx';
import { StageBadge } from '../../../src/runs/models/StageBadge.tsx';
import { RollbackButton } from '../../../src/runs/models/StageControls.tsx';

function when(value: string | Date | null | undefined): string {
  if (!value) return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

/** /product-lines/<id>: its templates (with version counts) and pipelines; new pipeline, or one from a template. */
export default function ProductLinePage() {
  const { id } = useParams<{ id: string }>();
  const trpc = useTRPC();
  const line = useQuery(trpc.productLines.get.queryOptions({ id }));
  const templates = useQuery(trpc.templates.list.queryOptions({ productLineId: id }));
  const pipelines = useQuery(trpc.pipelines.list.queryOptions({ productLineId: id }));
  const models = useQuery(trpc.models.list.queryOptions({ productLineId: id }));
  const production = models.data?.find((m) => m.stage === 'production');
  const [instantiating, setInstantiating] = useState(false);
  const { canEdit } = useMe();

  if (line.error) {
    return (
      <div className="df-page">
        <div className="df-alert df-alert-error">{line.error.message}</div>
        <Link href="/product-lines">← All product lines</Link>
      </div>
    );
  }
  if (!line.data) return <div className="df-page df-muted">Loading…</div>;

  return (
    <div className="df-page" data-testid="product-line-page">
      <div className="df-muted df-small" style={{ marginBottom: 4 }}>
        <Link href="/product-lines">Product lines</Link> /
      </div>
      <div className="df-page-head">
        <RenameProductLine line={line.data}>
          <h1 data-testid="product-line-name">{line.data.name}</h1>
        </RenameProductLine>
        <span className="df-spacer" />
        <Link className="df-btn" href={`/runs?productLine=${encodeURIComponent(id)}`}>
          Runs
        </Link>
        <Link className="df-btn" href={`/models?productLine=${encodeURIComponent(id)}`}>
          Models
        </Link>
        <Link className="df-btn" href={`/editor?productLine=${encodeURIComponent(id)}`}>
          New pipeline
        </Link>
        <button
          type="button"
          className="df-btn df-btn-primary"
          onClick={() => setInstantiating(true)}
          disabled={!canEdit}
          title={canEdit ? undefined : NEEDS_ENGINEER}
        >
          New pipeline from template…
        </button>
      </div>
      <p className="df-small df-row" data-testid="product-line-active-model" style={{ margin: '0 0 12px' }}>
        Production model:{' '}
        {production ? (
          <>
            <Link href={`/models/${encodeURIComponent(production.id)}`}>{production.name}</Link>
            <StageBadge stage={production.stage} version={production.version} testId="product-line-production-stage" />
          </>
        ) : (
          <span className="df-muted">none yet (promote one on its model page)</span>
        )}
        <RollbackButton productLineId={id} />
      </p>
      {line.data.description ? <p className="df-muted">{line.data.description}</p> : null}

      <div className="df-grid df-grid-2">
        <section className="df-panel">
          <div className="df-panel-title">Pipelines</div>
          {pipelines.data?.length === 0 ? <p className="df-muted df-small">No pipelines yet.</p> : null}
          <ul className="df-list" data-testid="pipeline-list">
            {(pipelines.data ?? []).map((p) => (
              <li key={p.id} className="df-row">
                <Link href={`/editor?pipeline=${encodeURIComponent(p.id)}`}>{p.name}</Link>
                {p.templateId ? <span className="df-badge">from template</span> : null}
                <span className="df-spacer" />
                <span className="df-muted df-small">{when(p.updatedAt)}</span>
              </li>
            ))}
          </ul>
        </section>
        <section className="df-panel">
          <div className="df-panel-title">Templates</div>
          {templates.data?.length === 0 ? <p className="df-muted df-small">No templates yet.</p> : null}
          <ul className="df-list" data-testid="template-list">
            {(templates.data ?? []).map((t) => {
              const count = t.latestVersion?.version ?? 0;
              return (
                <li key={t.id} className="df-row">
                  <Link href={`/editor?template=${encodeURIComponent(t.id)}`}>{t.name}</Link>
                  <span className="df-badge" title="Versions">
                    {count} {count === 1 ? 'version' : 'versions'}
                  </span>
                  <span className="df-spacer" />
                  <span className="df-muted df-small">{when(t.updatedAt)}</span>
                </li>
              );
            })}
          </ul>
        </section>
      </div>
      {instantiating ? (
        <InstantiateDialog productLineId={id} productLineName={line.data.name} onClose={() => setInstantiating(false)} />
      ) : null}
    </div>
  );
}
