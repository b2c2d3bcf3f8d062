/** Password hashes, random tokens and what the database stores of them (a SHA-256, never the token). */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Algorithm, hash, verify } from '@node-rs/argon2';

/** argon2id (Algorithm.Argon2id = 2; a const enum, so spelled out) with the library's defaults: 19 MiB, 2 passes. */
const ARGON2ID = 2 as Algorithm;

export const API_TOKEN_PREFIX = 'dft_';

export function hashPassword(password: string): Promise<string> {
  return hash(password, { algorithm: ARGON2ID });
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false; // a malformed stored hash signs nobody in
  }
}

/** A hash of a password nobody knows: unknown usernames cost the same time as wrong passwords. */
let dummyHash: Promise<string> | null = null;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
}

/** 32 random bytes, base64url (43 characters). */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** A new API token: the full value (shown once), its hash (stored) and a prefix (shown in lists). */
export function newApiToken(): { token: string; tokenHash: string; prefix: string } {
  const token = `${API_TOKEN_PREFIX}${newSecret()}`;
  return { token, tokenHash: sha256Hex(token), prefix: token.slice(0, API_TOKEN_PREFIX.length + 6) };
}

/** Constant-time string comparison (hashed first, so lengths neither leak nor differ). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

const SETUP_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789'; // no 0/O, 1/I/L

/** A one-time setup code like `K7QM-2XWP-HN4D` (12 characters, ~59 bits), easy to copy from a log. */
export function newSetupCode(): string {
  const bytes = randomBytes(12);
  const chars = [...bytes].map((b) => SETUP_ALPHABET[b % SETUP_ALPHABET.length]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

/** What the user typed, compared without case, spaces or dashes. */
export function normalizeSetupCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]+/g, '');
}
