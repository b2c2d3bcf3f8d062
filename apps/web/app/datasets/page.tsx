import { DatasetList } from '../../src/datasets/DatasetList.tsx';

export const metadata = { title: 'Datasets · defectflow' };

export default function DatasetsPage() {
  return (
    <div className="df-page df-grid">
      <h1 style={{ fontSize: 22, margin: 0 }}>Datasets</h1>
      <DatasetList />
    </div>
  );
}
