'use client';
/** Finds the dataset a run trained on and opens its page at one item (with the one-step relabel). */
import { useQuery } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { useTRPC } from '../client/trpc.ts';

export function FromRun({ runId, item }: { runId: string; item: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const run = useQuery(trpc.runs.get.queryOptions({ runId }));
  const dataset = run.data?.graph.nodes.find((n) => n.type === 'dataset');
  const path = typeof dataset?.params.path === 'string' ? dataset.params.path : null;
  useEffect(() => {
    if (path) router.replace(`/datasets/${encodeURIComponent(path)}?item=${encodeURIComponent(item)}`);
  }, [path, item, router]);
  if (run.error) return <p className="df-error">{run.error.message}</p>;
  if (run.data && !path) return <p className="df-error">Run {runId} has no dataset node with a folder path.</p>;
  return <p className="df-muted">Opening the dataset of run {runId}…</p>;
}
