/** The session cookie: `df_session`, HttpOnly, SameSite=Lax, Path=/, Secure when the request came over https. */
import type { ServerResponse } from 'node:http';

export const SESSION_COOKIE = 'df_session';

/** One cookie's value from a Cookie header (the first when repeated); undefined when absent. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

export function sessionCookie(value: string, options: { secure: boolean; maxAgeS: number }): string {
  const parts = [`${SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.floor(options.maxAgeS)}`];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeS: 0 });
}

/** Adds a Set-Cookie header, keeping any set before. */
export function appendSetCookie(res: ServerResponse, cookie: string): void {
  const current = res.getHeader('set-cookie');
  res.setHeader('set-cookie', [...(Array.isArray(current) ? current : current ? [String(current)] : []), cookie]);
}
