import { RunDetail } from '../../../src/runs/RunDetail.tsx';

export const metadata = { title: 'Run · defectflow' };

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <div className="df-page df-grid">
      <RunDetail runId={decodeURIComponent(id)} />
    </div>
  );
}
