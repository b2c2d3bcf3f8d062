/** Coloured pill for a run or node status. */
const COLORS: Record<string, [string, string]> = {
  waiting: ['#eef0f3', '#3e4651'],
  queued: ['#eef0f3', '#3e4651'],
  running: ['#dbeafe', '#1d4ed8'],
  succeeded: ['#dcfce7', '#15803d'],
  done: ['#dcfce7', '#15803d'],
  cached: ['#ede9fe', '#6d28d9'],
  failed: ['#fee2e2', '#b91c1c'],
  // Neutral: a cancel is the user's choice, not a failure.
  cancelled: ['#eaeef2', '#57606a'],
  interrupted: ['#fef3c7', '#92400e'],
};

export function StatusBadge({ status, testId }: { status: string; testId?: string }) {
  const [bg, fg] = COLORS[status] ?? ['#eef0f3', '#3e4651'];
  return (
    <span
      data-testid={testId}
      data-status={status}
      style={{ background: bg, color: fg, borderRadius: 10, padding: '1px 8px', fontSize: 12, fontWeight: 600 }}
    >
      {status}
    </span>
  );
}
