'use client';
/** The dataset node's `path` field offers the datasets under DATASETS_ROOT by name (datasets.list). */
import { useQuery } from '@tanstack/react-query';
import { useTRPC } from '../client/trpc.ts';

export function DatasetSelect({ value, onPick }: { value: string; onPick: (path: string) => void }) {
  const trpc = useTRPC();
  const list = useQuery(trpc.datasets.list.queryOptions());
  const datasets = list.data ?? [];
  return (
    <select
      className="dfe-input"
      aria-label="Uploaded datasets"
      data-testid="dataset-select"
      value={datasets.some((d) => d.path === value) ? value : ''}
      onChange={(e) => e.target.value && onPick(e.target.value)}
      style={{ width: 'auto', maxWidth: 140 }}
    >
      <option value="">Datasets…</option>
      {datasets.map((d) => (
        <option key={d.path} value={d.path}>
          {d.name} ({d.imageCount})
        </option>
      ))}
    </select>
  );
}
