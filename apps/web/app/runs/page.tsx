import { Suspense } from 'react';
import { RunHistory } from '../../src/runs/history/RunHistory.tsx';

export const metadata = { title: 'Runs · defectflow' };

export default function RunsPage() {
  return (
    <div className="df-page df-grid">
      <h1 style={{ fontSize: 22, margin: 0 }}>Runs</h1>
      {/* The filters live in the URL (useSearchParams). */}
      <Suspense fallback={<p>Loading…</p>}>
        <RunHistory />
      </Suspense>
    </div>
  );
}
