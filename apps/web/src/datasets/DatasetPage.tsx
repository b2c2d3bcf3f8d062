'use client';
/**
 * /datasets/<name>: one dataset version — class counts (bar chart), warnings with the files they name,
 * a paged thumbnail grid per class, and edits (move to class, new class, delete) that create the next
 * version, and "Add images" (a zip or folder of class folders) that makes the next version. `?version=N` opens that version. `?item=<id>` opens one image with a one-step relabel (the link from a run's confusion matrix).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useMemo, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import { AddImages, describeAdded } from './AddImages.tsx';

const PAGE = 48;
const THUMB = 96;
const NEW_CLASS = '__new__';

export function imageUrl(name: string, id: string, thumb?: number): string {
  return `/api/images?dataset=${encodeURIComponent(name)}&path=${encodeURIComponent(id)}${thumb ? `&thumb=${thumb}` : ''}`;
}

function BarChart({ counts, classes, onPick }: { counts: Record<string, number>; classes: string[]; onPick: (c: string) => void }) {
  const max = Math.max(1, ...classes.map((c) => counts[c] ?? 0));
  const row = 22;
  const labelW = 140;
  const width = 520;
  return (
    <svg width={width} height={classes.length * row + 4} role="img" aria-label="Images per class" data-testid="class-chart">
      {classes.map((c, i) => {
        const n = counts[c] ?? 0;
        const w = Math.max(1, ((width - labelW - 60) * n) / max);
        return (
          // biome-ignore lint/a11y/noStaticElementInteractions: the class tabs below offer the same action by keyboard
          <g key={c} transform={`translate(0 ${i * row + 2})`} onClick={() => onPick(c)} style={{ cursor: 'pointer' }}>
            <text x={labelW - 6} y={14} textAnchor="end" fontSize={12}>
              {c}
            </text>
            <rect x={labelW} y={3} width={w} height={14} fill="#0969da" rx={2} />
            <text x={labelW + w + 6} y={14} fontSize={12} data-testid="class-count" data-class={c}>
              {n}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function ClassPicker({ classes, value, onChange, testId }: { classes: string[]; value: string; onChange: (v: string) => void; testId: string }) {
  return (
    <select className="df-select" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId} style={{ width: 'auto' }}>
      <option value="">Move to class…</option>
      {classes.map((c) => (
        <option key={c} value={c}>
          {c}
        </option>
      ))}
      <option value={NEW_CLASS}>New class…</option>
    </select>
  );
}

export function DatasetPage({ name, item, initialVersion }: { name: string; item?: string; initialVersion?: number }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  // `?version=N` (the link from a run: the version it trained on); 0 = latest.
  const [version, setVersion] = useState(initialVersion ?? 0);
  const inspect = useQuery(trpc.datasets.inspect.queryOptions({ name, version }));
  const versions = useQuery(trpc.datasets.versions.queryOptions({ name }));
  const [cls, setCls] = useState<string | null>(null);
  const [page, setPage] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [target, setTarget] = useState('');
  const [newClass, setNewClass] = useState('');
  const [focus, setFocus] = useState<string | null>(item ?? null);
  const [focusTarget, setFocusTarget] = useState('');
  const [notice, setNotice] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  const data = inspect.data;
  const isLatest = data ? data.version === data.latestVersion : false;
  useEffect(() => {
    if (data && (cls === null || !data.classes.includes(cls))) setCls(data.classes[0] ?? null);
  }, [data, cls]);
  const byClass = useMemo(() => {
    const map = new Map<string, string[]>();
    for (const it of data?.items ?? []) map.set(it.className, [...(map.get(it.className) ?? []), it.id]);
    return map;
  }, [data]);
  const classOf = useMemo(() => new Map((data?.items ?? []).map((i) => [i.id, i.className])), [data]);

  const refresh = async (message: string) => {
    setSelected(new Set());
    setVersion(0);
    setNotice(message);
    await queryClient.invalidateQueries({ queryKey: trpc.datasets.inspect.queryKey() });
    await queryClient.invalidateQueries({ queryKey: trpc.datasets.versions.queryKey({ name }) });
    await queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey() });
  };
  const relabel = useMutation(
    trpc.datasets.relabel.mutationOptions({
      onSuccess: (r, vars) => refresh(`Version ${r.version}: moved ${vars.ids.length} image(s) to ${vars.to}`),
    }),
  );
  const remove = useMutation(
    trpc.datasets.remove.mutationOptions({ onSuccess: (r, vars) => refresh(`Version ${r.version}: deleted ${vars.ids.length} image(s)`) }),
  );
  const error = relabel.error?.message ?? remove.error?.message ?? null;
  const busy = relabel.isPending || remove.isPending;
  const { canEdit } = useMe();
  const editTitle = canEdit ? undefined : NEEDS_ENGINEER;

  if (inspect.isLoading) return <p className="df-muted">Loading dataset {name}…</p>;
  if (inspect.error) return <p className="df-error" role="alert">{inspect.error.message}</p>;
  if (!data) return null;

  const ids = cls ? (byClass.get(cls) ?? []) : [];
  const pages = Math.max(1, Math.ceil(ids.length / PAGE));
  const shown = ids.slice(page * PAGE, page * PAGE + PAGE);
  const moveTo = target === NEW_CLASS ? newClass.trim() : target;
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const focusClass = focus ? classOf.get(focus) : undefined;
  const focusMoveTo = focusTarget === NEW_CLASS ? newClass.trim() : focusTarget;

  return (
    <div className="df-grid">
      <div className="df-page-head">
        <h1 style={{ fontSize: 22 }} data-testid="dataset-title">
          {name}
        </h1>
        <span className="df-muted" data-testid="dataset-version">
          version {data.version}
          {isLatest ? ' (latest)' : ` of ${data.latestVersion}`}
        </span>
        <span className="df-muted">
          · {data.total} images · {data.classes.length} classes
          {/* Later versions are stored as a list of files (csv): the layout says something about version 1 only. */}
          {data.version === 1 ? ` · ${data.layout} layout` : ''}
        </span>
        <span className="df-spacer" />
        <button
          type="button"
          className="df-btn df-btn-sm"
          disabled={!canEdit || adding}
          title={canEdit ? 'Upload a zip or folder of class folders as the next version' : NEEDS_ENGINEER}
          data-testid="add-images-open"
          onClick={() => setAdding(true)}
        >
          Add images
        </button>
        <Link href="/datasets">All datasets</Link>
      </div>
      {adding ? (
        <AddImages
          name={name}
          classes={data.classes}
          latestVersion={data.latestVersion}
          onClose={() => setAdding(false)}
          onAdded={(r) => {
            setAdding(false);
            void refresh(`Version ${r.version}: added ${r.addedImages} image(s): ${describeAdded(r)}${r.notes.length ? `. ${r.notes.join('. ')}` : ''}`);
          }}
        />
      ) : null}
      {notice ? (
        <p className="df-ok" data-testid="dataset-notice">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p className="df-error" role="alert">
          {error}
        </p>
      ) : null}

      {focus ? (
        <section className="df-card" data-testid="item-focus">
          <div className="df-row" style={{ alignItems: 'flex-start', gap: 16 }}>
            {/* biome-ignore lint/performance/noImgElement: served and resized by /api/images */}
            <img src={imageUrl(name, focus, 256)} alt={focus} width={192} height={192} style={{ objectFit: 'contain', background: '#f0f2f5' }} />
            <div className="df-stack">
              <code>{focus}</code>
              {focusClass ? (
                <span>
                  Class in version {data.version}: <strong data-testid="item-focus-class">{focusClass}</strong>
                </span>
              ) : (
                <span className="df-warn">Not in version {data.version} (deleted or unknown).</span>
              )}
              {focusClass && isLatest ? (
                <div className="df-row">
                  <ClassPicker classes={data.classes.filter((c) => c !== focusClass)} value={focusTarget} onChange={setFocusTarget} testId="item-focus-class-select" />
                  {focusTarget === NEW_CLASS ? (
                    <input className="df-input" placeholder="new class" value={newClass} onChange={(e) => setNewClass(e.target.value)} style={{ width: 140 }} />
                  ) : null}
                  <button
                    type="button"
                    className="df-btn df-btn-primary"
                    disabled={!focusMoveTo || busy || !canEdit}
                    title={editTitle}
                    data-testid="item-focus-relabel"
                    onClick={() => relabel.mutate({ name, ids: [focus], to: focusMoveTo })}
                  >
                    Relabel
                  </button>
                </div>
              ) : null}
              <button type="button" className="df-linkish" onClick={() => setFocus(null)}>
                Close
              </button>
            </div>
          </div>
        </section>
      ) : null}

      <div className="df-grid df-grid-2">
        <section className="df-panel">
          <div className="df-panel-title">Classes</div>
          <BarChart counts={data.counts} classes={data.classes} onPick={(c) => { setCls(c); setPage(0); }} />
        </section>
        <section className="df-panel" data-testid="dataset-versions">
          <div className="df-panel-title">Versions</div>
          <ul className="df-list">
            {(versions.data ?? []).map((v) => (
              <li key={v.version} className="df-row" data-testid="dataset-version-row">
                <button type="button" className="df-linkish" onClick={() => setVersion(v.version)}>
                  v{v.version}
                </button>
                <span className="df-small">{v.message}</span>
                <span className="df-spacer" />
                <span className="df-small df-muted">{new Date(v.createdAt).toLocaleString()}</span>
              </li>
            ))}
          </ul>
        </section>
      </div>

      <section className="df-panel" data-testid="dataset-warnings">
        <div className="df-panel-title">Warnings ({data.warnings.length})</div>
        {data.warnings.length === 0 ? <p className="df-muted df-small">No warnings.</p> : null}
        <ul className="df-list">
          {data.warnings.map((w) => (
            <li key={w.code + w.message} data-testid="dataset-warning" data-code={w.code}>
              <div>
                <span className="df-warn">⚠</span> {w.message}
              </div>
              {w.files.length > 0 ? (
                <div className="df-small" style={{ display: 'flex', flexWrap: 'wrap', gap: 6, marginTop: 4 }}>
                  {w.files.slice(0, 30).map((f) =>
                    classOf.has(f) ? (
                      <button key={f} type="button" className="df-linkish df-mono" data-testid="warning-file" onClick={() => setFocus(f)}>
                        {f}
                      </button>
                    ) : (
                      <code key={f}>{f}</code>
                    ),
                  )}
                  {w.files.length > 30 ? <span className="df-muted">… {w.files.length - 30} more</span> : null}
                </div>
              ) : null}
            </li>
          ))}
        </ul>
      </section>

      <section className="df-panel" data-testid="dataset-images">
        <div className="df-row" style={{ flexWrap: 'wrap', marginBottom: 8 }}>
          {data.classes.map((c) => (
            <button
              key={c}
              type="button"
              className={c === cls ? 'df-btn df-btn-sm df-btn-primary' : 'df-btn df-btn-sm'}
              data-testid="class-tab"
              data-class={c}
              onClick={() => {
                setCls(c);
                setPage(0);
              }}
            >
              {c} ({data.counts[c] ?? 0})
            </button>
          ))}
        </div>
        <div className="df-row" style={{ marginBottom: 8, flexWrap: 'wrap' }}>
          <span className="df-small">{selected.size} selected</span>
          <button type="button" className="df-btn df-btn-sm" onClick={() => setSelected(new Set([...selected, ...shown]))}>
            Select page
          </button>
          <button type="button" className="df-btn df-btn-sm" disabled={selected.size === 0} onClick={() => setSelected(new Set())}>
            Clear
          </button>
          {isLatest ? (
            <>
              <ClassPicker classes={data.classes} value={target} onChange={setTarget} testId="move-class-select" />
              {target === NEW_CLASS ? (
                <input
                  className="df-input"
                  placeholder="new class name"
                  data-testid="new-class-name"
                  value={newClass}
                  onChange={(e) => setNewClass(e.target.value)}
                  style={{ width: 160 }}
                />
              ) : null}
              <button
                type="button"
                className="df-btn df-btn-sm df-btn-primary"
                disabled={selected.size === 0 || !moveTo || busy || !canEdit}
                title={editTitle}
                data-testid="move-selected"
                onClick={() => relabel.mutate({ name, ids: [...selected], to: moveTo })}
              >
                Move
              </button>
              <button
                type="button"
                className="df-btn df-btn-sm df-btn-danger"
                disabled={selected.size === 0 || busy || !canEdit}
                title={editTitle}
                data-testid="delete-selected"
                onClick={() => {
                  if (window.confirm(`Leave ${selected.size} image(s) out of the next version? Earlier versions keep them.`)) {
                    remove.mutate({ name, ids: [...selected] });
                  }
                }}
              >
                Delete
              </button>
            </>
          ) : (
            <span className="df-small df-muted">Viewing an earlier version: edits apply to the latest.</span>
          )}
          <span className="df-spacer" />
          <button type="button" className="df-btn df-btn-sm" disabled={page === 0} onClick={() => setPage(page - 1)}>
            ‹
          </button>
          <span className="df-small" data-testid="grid-page">
            page {page + 1} / {pages}
          </span>
          <button type="button" className="df-btn df-btn-sm" disabled={page + 1 >= pages} onClick={() => setPage(page + 1)}>
            ›
          </button>
        </div>
        <div style={{ display: 'flex', flexWrap: 'wrap', gap: 8 }}>
          {shown.map((id) => (
            <figure
              key={id}
              data-testid="dataset-thumb"
              data-item-id={id}
              style={{
                margin: 0,
                width: THUMB,
                fontSize: 10,
                border: `2px solid ${selected.has(id) ? '#0969da' : 'transparent'}`,
                borderRadius: 4,
              }}
            >
              <label style={{ cursor: 'pointer', display: 'block' }}>
                {/* biome-ignore lint/performance/noImgElement: served and resized by /api/images */}
                <img src={imageUrl(name, id, THUMB)} alt={id} width={THUMB - 4} height={THUMB - 4} loading="lazy" style={{ display: 'block', objectFit: 'cover', background: '#f0f2f5' }} />
                <figcaption style={{ display: 'flex', gap: 2, padding: 2, overflow: 'hidden', whiteSpace: 'nowrap' }} title={id}>
                  <input type="checkbox" checked={selected.has(id)} onChange={() => toggle(id)} data-testid="thumb-select" />
                  {/* Long names end in "…" (the full path is the caption's tooltip), not mid-extension. */}
                  <span style={{ overflow: 'hidden', textOverflow: 'ellipsis', minWidth: 0 }}>{id.split('/').pop()}</span>
                </figcaption>
              </label>
            </figure>
          ))}
        </div>
      </section>
    </div>
  );
}
