/**
 * The server's rules for usernames and passwords (apps/web/server, auth contract), checked in the form first
 * so a typo is named before the round trip. The server checks again and has the last word.
 */
export const MIN_PASSWORD_LENGTH = 10;
export const USERNAME_PATTERN = /^[a-z0-9._-]{2,40}$/;
export const USERNAME_RULE = '2–40 characters: lower-case letters, digits, dot, dash or underscore';

/** What is wrong with this username, or null. */
export function usernameProblem(username: string): string | null {
  const u = username.trim().toLowerCase();
  if (!u) return 'Username is empty';
  return USERNAME_PATTERN.test(u) ? null : `Username: ${USERNAME_RULE}`;
}

/** What is wrong with this new password (and its repetition, when asked twice), or null. */
export function passwordProblem(password: string, repeated?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `Password: at least ${MIN_PASSWORD_LENGTH} characters (${password.length} so far)`;
  if (repeated !== undefined && repeated !== password) return 'The two passwords differ';
  return null;
}
