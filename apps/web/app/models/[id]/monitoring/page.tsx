import { MonitoringPage } from '../../../../src/monitoring/MonitoringPage.tsx';

export const metadata = { title: 'Model monitoring · defectflow' };

export default async function ModelMonitoringPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <div className="df-page">
      <MonitoringPage modelId={decodeURIComponent(id)} />
    </div>
  );
}
