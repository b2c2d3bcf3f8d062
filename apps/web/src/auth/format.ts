/** Small display helpers for the account pages. Dates arrive as ISO strings (plain JSON over tRPC). */

export function when(value: string | Date | null | undefined, never = '—'): string {
  if (!value) return never;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? never : d.toLocaleString();
}

/** Copies text; falls back to a selected textarea where the Clipboard API is missing (plain http on a LAN address). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the old way
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand('copy');
  area.remove();
  return ok;
}
