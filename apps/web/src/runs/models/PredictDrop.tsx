'use client';
/** Drop images (or pick them) → models.predict → one card per image with probability bars. */
import { useMutation } from '@tanstack/react-query';
import { type DragEvent, useState } from 'react';
import { useTRPC } from '../../client/trpc.ts';

const MAX_FILES = 32;

interface Result {
  name: string;
  label: string;
  confidence: number;
  scores: Record<string, number>;
}

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error ?? new Error(`could not read ${file.name}`));
    r.readAsDataURL(file);
  });
}

export function PredictDrop({ modelId }: { modelId: string }) {
  const trpc = useTRPC();
  const predict = useMutation(trpc.models.predict.mutationOptions());
  const [previews, setPreviews] = useState<Record<string, string>>({});
  const [over, setOver] = useState(false);
  const [localError, setLocalError] = useState<string | null>(null);

  async function send(files: File[]) {
    setLocalError(null);
    const images = files.filter((f) => f.type.startsWith('image/') || /\.(png|jpe?g|bmp|gif|webp|tiff?)$/i.test(f.name));
    if (images.length === 0) {
      setLocalError('Drop image files (PNG, JPEG, BMP, …).');
      return;
    }
    if (images.length > MAX_FILES) setLocalError(`Only the first ${MAX_FILES} images are sent.`);
    const chosen = images.slice(0, MAX_FILES);
    const urls = await Promise.all(chosen.map(readAsDataUrl));
    setPreviews(Object.fromEntries(chosen.map((f, i) => [f.name, urls[i] as string])));
    predict.mutate({ modelId, images: chosen.map((f, i) => ({ name: f.name, dataBase64: urls[i] as string })) });
  }

  function onDrop(e: DragEvent) {
    e.preventDefault();
    setOver(false);
    void send([...e.dataTransfer.files]);
  }

  const results = (predict.data?.predictions ?? []) as Result[];
  return (
    <section style={{ display: 'grid', gap: 12 }}>
      {/* The whole drop zone is the file input's label: click to choose, or drop files onto it. */}
      <label
        data-testid="predict-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        style={{
          display: 'block',
          border: `2px dashed ${over ? '#2563eb' : '#c3c9d1'}`,
          background: over ? '#eff6ff' : '#fafbfc',
          borderRadius: 8,
          padding: 24,
          textAlign: 'center',
          fontSize: 14,
          cursor: 'pointer',
        }}
      >
        Drop images here, or <span style={{ color: '#2563eb', textDecoration: 'underline' }}>choose files</span>
        <input
          type="file"
          accept="image/*"
          multiple
          data-testid="predict-input"
          style={{ display: 'none' }}
          onChange={(e) => {
            void send([...(e.target.files ?? [])]);
            e.target.value = '';
          }}
        />
      </label>
      {predict.isPending ? <p>Predicting…</p> : null}
      {localError ? <p style={{ color: '#b45309' }}>{localError}</p> : null}
      {predict.error ? (
        <p role="alert" data-testid="predict-error" style={{ color: '#b91c1c' }}>
          {predict.error.message}
        </p>
      ) : null}
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 12 }} data-testid="predictions">
        {results.map((r) => (
          <PredictionCard key={r.name} result={r} preview={previews[r.name]} />
        ))}
      </div>
    </section>
  );
}

function PredictionCard({ result, preview }: { result: Result; preview?: string }) {
  const scores = Object.entries(result.scores ?? {}).sort((a, b) => b[1] - a[1]);
  return (
    <figure
      data-testid="prediction"
      data-label={result.label}
      style={{ margin: 0, width: 220, border: '1px solid #e3e6ea', borderRadius: 6, padding: 8, fontSize: 12 }}
    >
      {preview ? (
        // biome-ignore lint/performance/noImgElement: a local data: URL preview of the uploaded file
        <img src={preview} alt={result.name} style={{ width: '100%', height: 120, objectFit: 'contain', background: '#f0f2f5' }} />
      ) : null}
      <figcaption>
        <div style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }} title={result.name}>
          {result.name}
        </div>
        <div style={{ fontSize: 14, fontWeight: 700, margin: '4px 0' }}>
          {result.label} · {(result.confidence * 100).toFixed(1)}%
        </div>
        {scores.map(([label, p]) => (
          <div key={label} style={{ display: 'grid', gridTemplateColumns: '80px 1fr 44px', gap: 4, alignItems: 'center' }}>
            <span style={{ overflow: 'hidden', textOverflow: 'ellipsis' }}>{label}</span>
            <div style={{ height: 8, background: '#e8ebef', borderRadius: 4 }}>
              <div
                style={{
                  width: `${Math.round(p * 100)}%`,
                  height: '100%',
                  borderRadius: 4,
                  background: label === result.label ? '#2563eb' : '#9aa3ad',
                }}
              />
            </div>
            <span style={{ textAlign: 'right' }}>{(p * 100).toFixed(1)}%</span>
          </div>
        ))}
      </figcaption>
    </figure>
  );
}
