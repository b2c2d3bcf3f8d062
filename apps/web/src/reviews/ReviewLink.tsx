'use client';
/** "Review (N waiting)": the link to a model's review queue, shown on the model and monitoring pages. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../client/trpc.ts';

export function ReviewLink({ modelId }: { modelId: string }) {
  const trpc = useTRPC();
  const stats = useQuery({ ...trpc.reviews.stats.queryOptions({ modelId }), refetchInterval: 5000 });
  return (
    <Link href={`/models/${encodeURIComponent(modelId)}/review`} data-testid="model-review-link">
      Review queue{stats.data ? ` (${stats.data.waiting} waiting)` : ''}
    </Link>
  );
}
