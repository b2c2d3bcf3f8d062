import { RunCompare } from '../../../src/runs/history/RunCompare.tsx';

export const metadata = { title: 'Compare runs · defectflow' };

export default async function ComparePage({ searchParams }: { searchParams: Promise<{ ids?: string | string[] }> }) {
  const { ids } = await searchParams;
  const list = (Array.isArray(ids) ? ids.join(',') : (ids ?? ''))
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return (
    <div className="df-page df-grid">
      <h1 style={{ fontSize: 22, margin: 0 }}>Compare runs</h1>
      <RunCompare ids={[...new Set(list)]} />
    </div>
  );
}
