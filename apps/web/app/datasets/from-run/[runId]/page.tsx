import { FromRun } from '../../../../src/datasets/FromRun.tsx';

export const metadata = { title: 'Dataset · defectflow' };

/** /datasets/from-run/<runId>?item=<id>: opens the run's dataset at that image (confusion matrix → relabel). */
export default async function FromRunRoute({
  params,
  searchParams,
}: {
  params: Promise<{ runId: string }>;
  searchParams: Promise<{ item?: string | string[] }>;
}) {
  const { runId } = await params;
  const { item } = await searchParams;
  return (
    <div className="df-page">
      <FromRun runId={decodeURIComponent(runId)} item={typeof item === 'string' ? item : ''} />
    </div>
  );
}
