import { BackboneLibrary } from '../../src/backbones/BackboneLibrary.tsx';

export const metadata = { title: 'Backbones · defectflow' };

export default function BackbonesPage() {
  return (
    <div className="df-page df-grid">
      <h1 style={{ fontSize: 22, margin: 0 }}>Backbones</h1>
      <BackboneLibrary />
    </div>
  );
}
