'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { type FormEvent, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../src/client/auth.ts';
import { describeRunner, useRunnerStatus } from '../src/client/runner-status.ts';
import { type RouterOutputs, useTRPC } from '../src/client/trpc.ts';

type ProductLine = RouterOutputs['productLines']['list'][number];
type TemplateRow = RouterOutputs['templates']['list'][number];
type PipelineRow = RouterOutputs['pipelines']['list'][number];

function when(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString();
}

function NewProductLine() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [name, setName] = useState('');
  const { canEdit } = useMe();
  const create = useMutation(
    trpc.productLines.create.mutationOptions({
      onSuccess: () => {
        setName('');
        void queryClient.invalidateQueries({ queryKey: trpc.productLines.list.queryKey() });
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate({ name: name.trim() });
  };
  return (
    <form className="df-row" onSubmit={submit} aria-label="New product line">
      <input
        className="df-input"
        style={{ width: 240 }}
        placeholder="New product line name"
        value={name}
        onChange={(e) => setName(e.target.value)}
      />
      <button className="df-btn" type="submit" disabled={!name.trim() || create.isPending || !canEdit} title={canEdit ? undefined : NEEDS_ENGINEER}>
        Add product line
      </button>
      {create.error && <span className="df-error df-small">{create.error.message}</span>}
    </form>
  );
}

function ProductLineCard({ line, templates, pipelines }: { line: ProductLine; templates: TemplateRow[]; pipelines: PipelineRow[] }) {
  return (
    <section className="df-panel df-pl" data-testid="product-line">
      <div className="df-pl-head">
        <h2>
          <Link href={`/product-lines/${encodeURIComponent(line.id)}`} data-testid="product-line-link">
            {line.name}
          </Link>
        </h2>
        {line.description && <span className="df-muted df-small">{line.description}</span>}
        <span className="df-spacer" />
        <Link className="df-btn df-btn-sm" href={`/runs?productLine=${encodeURIComponent(line.id)}`}>
          Runs
        </Link>
        <Link className="df-btn df-btn-sm" href={`/models?productLine=${encodeURIComponent(line.id)}`}>
          Models
        </Link>
      </div>
      <div className="df-pl-cols">
        <div>
          <div className="df-section-title">Templates</div>
          {templates.length === 0 ? (
            <p className="df-muted df-small">No templates yet.</p>
          ) : (
            <ul className="df-list">
              {templates.map((t) => (
                <li key={t.id} className="df-row">
                  <Link href={`/editor?template=${encodeURIComponent(t.id)}`}>{t.name}</Link>
                  <span className="df-badge">v{t.latestVersion?.version ?? 0}</span>
                  <span className="df-spacer" />
                  <span className="df-muted df-small">{when(t.updatedAt)}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <div>
          <div className="df-section-title">Pipelines</div>
          {pipelines.length === 0 ? (
            <p className="df-muted df-small">No pipelines yet.</p>
          ) : (
            <ul className="df-list">
              {pipelines.map((p) => (
                <li key={p.id} className="df-row">
                  <Link href={`/editor?pipeline=${encodeURIComponent(p.id)}`}>{p.name}</Link>
                  <span className="df-spacer" />
                  <span className="df-muted df-small">{when(p.updatedAt)}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </section>
  );
}

function RunnerPanel() {
  const status = useRunnerStatus();
  return (
    <section className="df-panel">
      <div className="df-panel-title">Runner</div>
      <p data-testid="runner-summary" className={status?.connected ? 'df-ok' : 'df-error'}>
        {describeRunner(status)}
      </p>
      {status && (
        <dl className="df-kv">
          <dt>URL</dt>
          <dd className="df-mono">{status.url}</dd>
          <dt>Backend</dt>
          <dd>{status.backend ?? '—'}</dd>
          <dt>Device</dt>
          <dd>{status.device ?? '—'}</dd>
          <dt>Current run</dt>
          <dd>{status.currentRunId ? <Link href={`/runs/${status.currentRunId}`}>{status.currentRunId.slice(0, 8)}</Link> : '—'}</dd>
          <dt>Queued</dt>
          <dd>{status.queue.length}</dd>
        </dl>
      )}
    </section>
  );
}

function RecentRuns() {
  const trpc = useTRPC();
  const runs = useQuery({ ...trpc.runs.list.queryOptions({ limit: 8 }), refetchInterval: 5_000 });
  return (
    <section className="df-panel">
      <div className="df-panel-title">
        Recent runs <span className="df-spacer" /> <Link href="/runs">all runs</Link>
      </div>
      {!runs.data?.length ? (
        <p className="df-muted df-small">No runs yet. Open a pipeline in the editor and press Run.</p>
      ) : (
        <ul className="df-list">
          {runs.data.map((r) => (
            <li key={r.id} className="df-row">
              <Link className="df-mono" href={`/runs/${r.id}`}>
                {r.id.slice(0, 8)}
              </Link>
              <span className={`df-badge df-status-${r.status}`}>{r.status}</span>
              <span className="df-spacer" />
              <span className="df-muted df-small">{when(r.createdAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Datasets() {
  const trpc = useTRPC();
  const datasets = useQuery(trpc.datasets.list.queryOptions());
  return (
    <section className="df-panel">
      <div className="df-panel-title">Datasets</div>
      {!datasets.data?.length ? (
        <p className="df-muted df-small">No datasets under the datasets folder yet.</p>
      ) : (
        <ul className="df-list">
          {datasets.data.map((d) => (
            <li key={d.name}>
              <span className="df-mono">{d.path}</span>{' '}
              <span className="df-muted df-small">
                {d.imageCount} images{d.folders.length ? ` · ${d.folders.join(', ')}` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export default function HomePage() {
  const trpc = useTRPC();
  const lines = useQuery(trpc.productLines.list.queryOptions());
  const templates = useQuery(trpc.templates.list.queryOptions());
  const pipelines = useQuery(trpc.pipelines.list.queryOptions());
  return (
    <div className="df-page">
      <div className="df-page-head">
        <h1>Product lines</h1>
        <span className="df-spacer" />
        <Link className="df-btn df-btn-primary" href="/editor">
          New pipeline
        </Link>
      </div>
      <div className="df-grid df-grid-2">
        <div>
          <div style={{ marginBottom: 12 }}>
            <NewProductLine />
          </div>
          {lines.error && <div className="df-alert df-alert-error">Could not load product lines: {lines.error.message}</div>}
          {lines.isPending && <p className="df-muted">Loading…</p>}
          {lines.data?.length === 0 && <div className="df-empty">No product lines yet: add one above.</div>}
          {lines.data?.map((line) => (
            <ProductLineCard
              key={line.id}
              line={line}
              templates={(templates.data ?? []).filter((t) => t.productLineId === line.id)}
              pipelines={(pipelines.data ?? []).filter((p) => p.productLineId === line.id)}
            />
          ))}
        </div>
        <div className="df-stack">
          <RunnerPanel />
          <RecentRuns />
          <Datasets />
        </div>
      </div>
    </div>
  );
}
