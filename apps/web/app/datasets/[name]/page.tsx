import { DatasetPage } from '../../../src/datasets/DatasetPage.tsx';

export const metadata = { title: 'Dataset · defectflow' };

export default async function DatasetRoute({
  params,
  searchParams,
}: {
  params: Promise<{ name: string }>;
  searchParams: Promise<{ item?: string | string[]; version?: string | string[] }>;
}) {
  const { name } = await params;
  const { item, version } = await searchParams;
  const initialVersion = typeof version === 'string' && /^\d+$/.test(version) ? Number(version) : undefined;
  const decoded = decodeURIComponent(name);
  return (
    <div className="df-page">
      <DatasetPage key={decoded} name={decoded} item={typeof item === 'string' ? item : undefined} initialVersion={initialVersion} />
    </div>
  );
}
