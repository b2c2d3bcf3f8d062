'use client';
/**
 * Drop images (or pick them) → models.predict → one card per image with probability bars, or with the reason
 * that one file could not be predicted (the others still are).
 */
import { hasImageExtension } from '@defectflow/engine/constants';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type DragEvent, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../../client/auth.ts';
import { useTRPC } from '../../client/trpc.ts';

const MAX_FILES = 32;

type Result =
  | { name: string; label: string; confidence: number; scores: Record<string, number>; error?: undefined }
  | { name: string; error: string };

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
  const queryClient = useQueryClient();
  // Each answered image is a row of the model's prediction log: show it there at once.
  const predict = useMutation(
    trpc.models.predict.mutationOptions({
      onSettled: () => void queryClient.invalidateQueries({ queryKey: trpc.predictions.list.queryKey() }),
    }),
  );
  const [previews, setPreviews] = useState<Record<string, string>>({});
  const [over, setOver] = useState(false);
  const [localError, setLocalError] = useState<string | null>(null);
  const { canEdit } = useMe();

  async function send(files: File[]) {
    setLocalError(null);
    const images = files.filter((f) => f.type.startsWith('image/') || hasImageExtension(f.name));
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
  if (!canEdit) {
    return (
      <p className="df-empty" data-testid="predict-drop" aria-disabled="true" title={NEEDS_ENGINEER}>
        Trying the model on your images {NEEDS_ENGINEER}.
      </p>
    );
  }
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
        {results.map((r) =>
          r.error !== undefined ? (
            <FailedCard key={r.name} name={r.name} error={r.error} />
          ) : (
            <PredictionCard key={r.name} result={r} preview={previews[r.name]} />
          ),
        )}
      </div>
    </section>
  );
}

function FailedCard({ name, error }: { name: string; error: string }) {
  return (
    <figure
      data-testid="prediction-failed"
      data-name={name}
      style={{ margin: 0, width: 220, border: '1px solid #f3c4c4', background: '#fef6f6', borderRadius: 6, padding: 8, fontSize: 12 }}
    >
      <figcaption>
        <div style={{ overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }} title={name}>
          {name}
        </div>
        <div style={{ fontWeight: 700, margin: '4px 0', color: '#b91c1c' }}>Not predicted</div>
        <div style={{ color: '#7f1d1d', overflowWrap: 'anywhere' }}>{error}</div>
      </figcaption>
    </figure>
  );
}

function PredictionCard({ result, preview }: { result: Extract<Result, { label: string }>; preview?: string }) {
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
        <div style={{ fontSize: 14, fontWeight: 700, margin: '4px 0', overflowWrap: 'anywhere' }}>
          {result.label} · {(result.confidence * 100).toFixed(1)}%
        </div>
        {/* A class name gets the card's whole width and wraps: long names are never cut off (issue 20 item 10). */}
        {scores.map(([label, p]) => (
          <div key={label} style={{ display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) 44px', columnGap: 4, alignItems: 'baseline', marginBottom: 3 }}>
            <span data-testid="score-label" title={label} style={{ overflowWrap: 'anywhere', lineHeight: 1.25 }}>
              {label}
            </span>
            <span style={{ textAlign: 'right' }}>{(p * 100).toFixed(1)}%</span>
            <div style={{ gridColumn: '1 / -1', height: 6, background: '#e8ebef', borderRadius: 3 }}>
              <div
                style={{
                  width: `${Math.round(p * 100)}%`,
                  height: '100%',
                  borderRadius: 3,
                  background: label === result.label ? '#2563eb' : '#9aa3ad',
                }}
              />
            </div>
          </div>
        ))}
      </figcaption>
    </figure>
  );
}
