'use client';
/** The open alarms of a model, as a banner (model page and monitoring page); polled so a new alarm shows up. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../client/trpc.ts';
import { formatDateTime } from '../runs/format.ts';

const RULE_TITLES: Record<string, string> = {
  drift_rate: 'Input drift',
  low_confidence_rate: 'Low confidence',
  class_mix: 'Class mix changed',
};

export function AlarmBanner({ modelId, link = true }: { modelId: string; link?: boolean }) {
  const trpc = useTRPC();
  const alarms = useQuery({ ...trpc.monitoring.alarms.queryOptions({ modelId }), refetchInterval: 3000 });
  const open = alarms.data ?? [];
  if (open.length === 0) return null;
  return (
    <div
      role="alert"
      data-testid="alarm-banner"
      style={{ border: '1px solid #c92a2a', background: '#fff5f5', color: '#7d1a1a', borderRadius: 6, padding: '10px 14px', display: 'grid', gap: 4 }}
    >
      <strong>
        {open.length === 1 ? '1 alarm' : `${open.length} alarms`} on this model
        {link ? (
          <>
            {' '}
            — <Link href={`/models/${encodeURIComponent(modelId)}/monitoring`}>open monitoring</Link>
          </>
        ) : null}
      </strong>
      {open.map((a) => (
        <span key={a.id} data-testid="alarm-item" data-rule={a.rule} className="df-small">
          <b>{RULE_TITLES[a.rule] ?? a.rule}</b> since {formatDateTime(a.raisedAt)}: {a.message}
        </span>
      ))}
    </div>
  );
}
