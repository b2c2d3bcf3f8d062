import { SweepDetail } from '../../../src/sweeps/SweepDetail.tsx';

export const metadata = { title: 'Sweep · defectflow' };

export default async function SweepPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <div className="df-page df-grid">
      <SweepDetail sweepId={decodeURIComponent(id)} />
    </div>
  );
}
