'use client';
/**
 * /backbones: the backbone library. The bundled MobileNetV2 (zero setup, the default) and the ONNX
 * backbones imported into DATA_DIR/backbones: upload an .onnx, see its cut points with shapes, parameters,
 * input size and measured throughput, and save its settings (the sidecar the backbone node reads).
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';

const LAYOUTS = ['NCHW', 'NHWC'] as const;
const NORMALIZATIONS = ['imagenet', 'meanstd', 'unit', 'raw'] as const;

function formatParams(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} k` : String(n);
}

function UploadBackbone({ onUploaded }: { onUploaded: (name: string) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { canEdit } = useMe();
  const upload = async () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const res = await fetch(`/api/backbones/upload?name=${encodeURIComponent(file.name)}`, { method: 'PUT', body: file });
      const body = (await res.json()) as { name?: string; error?: string };
      if (!res.ok) throw new Error(body.error ?? `upload failed (${res.status})`);
      onUploaded(body.name ?? file.name);
      setFile(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="df-panel" data-testid="backbone-upload">
      <div className="df-panel-title">Import an ONNX backbone</div>
      {canEdit ? null : <p className="df-alert df-alert-warn df-small">Importing a backbone {NEEDS_ENGINEER}.</p>}
      <p className="df-help">
        An .onnx file exported from PyTorch (torchvision, timm) or TensorFlow: ResNet, EfficientNet, ConvNeXt, ViT, DINOv2 or CLIP
        image encoders. It runs frozen in ONNX Runtime; pick the tensor to cut at below. The file name becomes its name in the
        library and cannot be reused.
      </p>
      <div className="df-row">
        <input type="file" accept=".onnx" data-testid="backbone-file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        <button type="button" className="df-btn df-btn-primary" disabled={!file || busy || !canEdit} onClick={upload} data-testid="backbone-upload-start">
          {busy ? 'Importing…' : 'Import'}
        </button>
      </div>
      {error ? (
        <p className="df-error" role="alert" data-testid="backbone-upload-error">
          {error}
        </p>
      ) : null}
    </section>
  );
}

function BackboneDetail({ name }: { name: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { canEdit } = useMe();
  const info = useQuery(trpc.backbones.get.queryOptions({ name }));
  const [form, setForm] = useState({ cut: '', layout: 'NCHW', normalization: 'imagenet', inputSize: 224 });
  const [saved, setSaved] = useState<string | null>(null);
  useEffect(() => {
    if (info.data) setForm({ cut: info.data.cut, layout: info.data.layout, normalization: info.data.normalization, inputSize: info.data.inputSize });
  }, [info.data]);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.backbones.list.queryKey() });
    void queryClient.invalidateQueries({ queryKey: trpc.backbones.get.queryKey({ name }) });
    void queryClient.invalidateQueries({ queryKey: trpc.backbones.cutPoints.queryKey({ name }) });
  };
  const save = useMutation(trpc.backbones.saveSettings.mutationOptions({ onSuccess: () => { setSaved('Saved.'); refresh(); } }));
  const measure = useMutation(trpc.backbones.measure.mutationOptions({ onSuccess: refresh }));
  const d = info.data;
  if (!d) return <p className="df-muted">{info.error ? info.error.message : 'Reading the graph…'}</p>;
  if (d.error) return <p className="df-error">{d.error}</p>;
  const editTitle = canEdit ? undefined : NEEDS_ENGINEER;
  return (
    <div className="df-grid" data-testid="backbone-detail" data-name={name}>
      <table className="df-table">
        <tbody>
          <tr>
            <td>Parameters</td>
            <td className="df-num" data-testid="backbone-params">{formatParams(d.params)}</td>
          </tr>
          <tr>
            <td>Input</td>
            <td data-testid="backbone-input">
              {d.inputSize}×{d.inputSize} RGB, {d.layout}
            </td>
          </tr>
          <tr>
            <td>File</td>
            <td>
              {(d.bytes / 1024 ** 2).toFixed(1)} MiB, opset {d.opset}
            </td>
          </tr>
          <tr>
            <td>Throughput</td>
            <td data-testid="backbone-throughput">
              {d.imagesPerSecond === null ? '—' : `${d.imagesPerSecond.toFixed(1)} images/s (ONNX Runtime, this machine)`}{' '}
              <button type="button" className="df-btn df-btn-small" disabled={measure.isPending || !canEdit} title={editTitle} onClick={() => measure.mutate({ name, images: 16 })} data-testid="backbone-measure">
                {measure.isPending ? 'Measuring…' : 'Measure'}
              </button>
            </td>
          </tr>
        </tbody>
      </table>
      <div className="df-panel-title">Settings</div>
      <div className="df-row">
        <label className="df-label" htmlFor="backbone-cut">Cut at</label>
        <select id="backbone-cut" className="df-input" data-testid="backbone-cut" value={form.cut} onChange={(e) => setForm({ ...form, cut: e.target.value })}>
          {d.cutPoints.map((p) => (
            <option key={p.name} value={p.name}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      <div className="df-row">
        <label className="df-label" htmlFor="backbone-layout">Layout</label>
        <select id="backbone-layout" className="df-input" value={form.layout} onChange={(e) => setForm({ ...form, layout: e.target.value })}>
          {LAYOUTS.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
        <label className="df-label" htmlFor="backbone-norm">Normalisation</label>
        <select id="backbone-norm" className="df-input" value={form.normalization} onChange={(e) => setForm({ ...form, normalization: e.target.value })}>
          {NORMALIZATIONS.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
        <label className="df-label" htmlFor="backbone-size">Input size</label>
        <input id="backbone-size" className="df-input" type="number" min={16} max={1024} value={form.inputSize} onChange={(e) => setForm({ ...form, inputSize: Number(e.target.value) })} style={{ maxWidth: 90 }} />
      </div>
      <div className="df-row">
        <button
          type="button"
          className="df-btn df-btn-primary"
          disabled={save.isPending || !canEdit}
          title={editTitle}
          data-testid="backbone-save"
          onClick={() => {
            setSaved(null);
            save.mutate({
              name,
              settings: {
                cut: form.cut,
                layout: form.layout as (typeof LAYOUTS)[number],
                normalization: form.normalization as (typeof NORMALIZATIONS)[number],
                ...(form.inputSize !== d.inputSize ? { inputSize: form.inputSize } : {}),
              },
            });
          }}
        >
          Save settings
        </button>
        {saved ? <span className="df-ok" data-testid="backbone-saved">{saved}</span> : null}
        {save.error ? <span className="df-error" role="alert">{save.error.message}</span> : null}
        {measure.error ? <span className="df-error" role="alert">{measure.error.message}</span> : null}
      </div>
      <p className="df-help">
        In the editor, set the Backbone node's source to <code>onnx</code> and pick <code>{name}</code>; the cut point and
        settings saved here apply unless the node sets its own.
      </p>
    </div>
  );
}

export function BackboneLibrary() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.backbones.list.queryOptions());
  const [selected, setSelected] = useState<string | null>(null);
  const current = selected ?? list.data?.[0]?.name ?? null;
  return (
    <div className="df-grid df-grid-2">
      <section className="df-panel">
        <div className="df-panel-title">Library</div>
        <table className="df-table" data-testid="backbone-list">
          <tbody>
            <tr data-testid="backbone-row" data-name="mobilenet_v2">
              <td>MobileNetV2 (bundled)</td>
              <td className="df-muted df-small">default · TF.js · fine-tunable · cut points block_3 … out_relu</td>
            </tr>
            {(list.data ?? []).map((b) => (
              <tr key={b.name} data-testid="backbone-row" data-name={b.name}>
                <td>
                  <button type="button" className="df-linkish" onClick={() => setSelected(b.name)} data-testid="backbone-open">
                    {b.name}
                  </button>
                </td>
                <td className="df-muted df-small">
                  {b.error ? b.error : `ONNX · ${formatParams(b.params)} params · ${b.inputSize}px · cut ${b.cut} · frozen-only`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {current ? <BackboneDetail key={current} name={current} /> : <p className="df-empty">No ONNX backbones yet: import one.</p>}
      </section>
      <UploadBackbone
        onUploaded={(name) => {
          setSelected(name);
          void queryClient.invalidateQueries({ queryKey: trpc.backbones.list.queryKey() });
        }}
      />
    </div>
  );
}
