import { DatasetPage } from '../../../src/datasets/DatasetPage.tsx';

export const metadata = { title: 'Dataset · defectflow' };

export default async function DatasetRoute({
  params,
  searchParams,
}: {
  params: Promise<{ name: string }>;
  searchParams: Promise<{ item?: string | string[] }>;
}) {
  const { name } = await params;
  const { item } = await searchParams;
  const decoded = decodeURIComponent(name);
  return (
    <div className="df-page">
      <DatasetPage key={decoded} name={decoded} item={typeof item === 'string' ? item : undefined} />
    </div>
  );
}
