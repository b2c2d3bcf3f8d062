/** Small display helpers shared by the runs and models pages. */

/** tRPC without a transformer sends dates as ISO strings although the types say Date: accept both. */
export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined || v === '') return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatDateTime(v: unknown): string {
  const d = toDate(v);
  if (!d) return '–';
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** Milliseconds between two timestamps (end defaults to now for runs still going), or null. */
export function durationBetween(start: unknown, end: unknown, now = Date.now()): number | null {
  const s = toDate(start);
  if (!s) return null;
  const e = toDate(end);
  return Math.max(0, (e ? e.getTime() : now) - s.getTime());
}

export function shortId(id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id;
}
