import { Suspense } from 'react';
import { ModelList } from '../../src/runs/models/ModelList.tsx';

export const metadata = { title: 'Models · defectflow' };

export default function ModelsPage() {
  return (
    <div className="df-page df-grid">
      <h1 style={{ fontSize: 22, margin: 0 }}>Deployed models</h1>
      {/* ?productLine= narrows the list (useSearchParams). */}
      <Suspense fallback={<p>Loading…</p>}>
        <ModelList />
      </Suspense>
    </div>
  );
}
