import { ModelDetail } from '../../../src/runs/models/ModelDetail.tsx';

export const metadata = { title: 'Model · defectflow' };

export default async function ModelPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <div className="df-page">
      <ModelDetail modelId={decodeURIComponent(id)} />
    </div>
  );
}
