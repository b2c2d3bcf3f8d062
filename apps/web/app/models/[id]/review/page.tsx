import { ReviewPage } from '../../../../src/reviews/ReviewPage.tsx';

export const metadata = { title: 'Review queue · defectflow' };

export default async function ModelReviewPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <div className="df-page">
      <ReviewPage modelId={decodeURIComponent(id)} />
    </div>
  );
}
