import { SweepList } from '../../src/sweeps/SweepList.tsx';

export const metadata = { title: 'Sweeps · defectflow' };

export default function SweepsPage() {
  return (
    <div className="df-page df-grid">
      <div>
        <h1 style={{ fontSize: 22, margin: 0 }}>Sweeps</h1>
        <p className="df-muted" style={{ margin: '4px 0 0' }}>
          Hyperparameter searches over a pipeline: many trial runs with other values, ranked on the validation split.
        </p>
      </div>
      <SweepList />
    </div>
  );
}
