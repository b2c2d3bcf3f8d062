/**
 * Accounts, sessions and API tokens: resolves a request's headers to a principal, signs in and out, creates the
 * first admin (from env, or with the one-time setup code printed in the log) and tells listeners (the browser
 * sockets) when sessions or tokens stop being valid.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Repositories, User, UserPatch } from '@defectflow/db';
import { TRPCError } from '@trpc/server';
import type { Logger } from '../log.ts';
import { SESSION_COOKIE, readCookie } from './cookies.ts';
import {
  API_TOKEN_PREFIX,
  burnPasswordCheck,
  hashPassword,
  newApiToken,
  newSecret,
  newSetupCode,
  normalizeSetupCode,
  sameSecret,
  sha256Hex,
  verifyPassword,
} from './crypto.ts';
import { ANONYMOUS, LOCAL_PRINCIPAL, type Principal, type PrincipalUser, type Role } from './principal.ts';
import { type AttemptCounter, type AttemptCounterFactory, memoryAttemptCounters } from './rate-limit.ts';

export interface AuthConfig {
  /** AUTH=on: accounts required. Off: every request is the implicit local admin. */
  enabled: boolean;
  /** Sliding session lifetime (SESSION_TTL_HOURS). */
  sessionTtlMs: number;
  /** Absolute session lifetime from sign-in (SESSION_MAX_DAYS). */
  sessionMaxMs: number;
  /** Failed sign-ins per client IP and per username within the window (SIGNIN_MAX_FAILURES). */
  signInMaxFailures: number;
  /** SIGNIN_WINDOW_MINUTES. */
  signInWindowMs: number;
  /** ADMIN_USERNAME / ADMIN_PASSWORD: the first admin, created at start when no user exists. */
  admin?: { username: string; password: string };
}

/**
 * State every web server must agree on in cluster mode (cluster/shared-auth.ts keeps it in Redis); one web server
 * keeps it in memory.
 */
export interface SharedAuthState {
  counters: AttemptCounterFactory;
  /** The setup code all servers use: `fresh` unless another server picked one first. */
  setupCode(fresh: string): Promise<string>;
  /** The agreed setup code now (null once setup is done). */
  currentSetupCode(): Promise<string | null>;
  setupDone(): Promise<void>;
  publishRevocation(r: Revocation): Promise<void>;
  /** Revocations published by the other servers. */
  onRemoteRevocation(listener: (r: Revocation) => void): Promise<void>;
  close(): void;
}

/** Where a request came from, for rate limits and the cookie's Secure flag. */
export interface ClientMeta {
  ip: string;
  secure: boolean;
}

/** Sessions or tokens that just stopped being valid (sockets opened with them are closed). */
export interface Revocation {
  /** Every session and token of this user. */
  userId?: string;
  sessionHashes?: string[];
  tokenId?: string;
}

export interface SignedIn {
  user: PrincipalUser;
  /** The cookie value (only its hash is stored). */
  sessionToken: string;
  /** Cookie Max-Age. */
  maxAgeS: number;
}

/** Writes to a session or token's last-seen time at most this often. */
const TOUCH_EVERY_MS = 60_000;
const PRUNE_EVERY_MS = 60 * 60_000;

export function userView(user: Pick<User, 'id' | 'username' | 'role'>): PrincipalUser {
  return { id: user.id, username: user.username, role: user.role };
}

function tooMany(what: string, retryAfterS: number): TRPCError {
  return new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Too many ${what}: try again in ${retryAfterS} s` });
}

export class AuthService {
  private setupCode: string | null = null;
  private readonly signInFailures: AttemptCounter;
  private readonly setupAttempts: AttemptCounter;
  /** All clients together: the setup code cannot be guessed from many addresses either. */
  private readonly setupAttemptsAll: AttemptCounter;
  private readonly listeners = new Set<(r: Revocation) => void>();
  private pruneTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly repo: Repositories,
    readonly config: AuthConfig,
    private readonly log: Logger,
    /** Cluster mode: counters, setup code and revocations shared with the other web servers. */
    private readonly shared?: SharedAuthState,
  ) {
    const counter = shared?.counters ?? memoryAttemptCounters;
    this.signInFailures = counter('signin', config.signInMaxFailures, config.signInWindowMs);
    this.setupAttempts = counter('setup', config.signInMaxFailures, config.signInWindowMs);
    this.setupAttemptsAll = counter('setup-all', config.signInMaxFailures * 10, config.signInWindowMs);
  }

  get enabled(): boolean {
    return this.config.enabled;
  }

  /** At start: the first admin from env, or a setup code in the log; expired sessions pruned now and hourly. */
  async bootstrap(): Promise<void> {
    const { admin } = this.config;
    if (admin && (await this.repo.users.count()) === 0) {
      const created = await this.repo.users.createFirst({
        username: admin.username,
        passwordHash: await hashPassword(admin.password),
        role: 'admin',
      });
      if (created) this.log.info(`created the first admin "${created.username}" (ADMIN_USERNAME)`);
    } else if (admin) {
      this.log.info('ADMIN_USERNAME is set but users exist already: it is ignored');
    }
    if (this.shared) await this.shared.onRemoteRevocation((r) => this.tell(r));
    if (this.enabled && (await this.repo.users.count()) === 0) {
      this.setupCode = this.shared ? await this.shared.setupCode(newSetupCode()) : newSetupCode();
      this.log.info(`setup code: ${this.setupCode} (open /setup to create the first admin; valid until one exists)`);
    }
    await this.pruneExpired();
    this.pruneTimer = setInterval(() => void this.pruneExpired(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  close(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    this.pruneTimer = null;
    this.shared?.close();
  }

  /** AUTH on and no user yet: the setup page is the way in. */
  async needsSetup(): Promise<boolean> {
    return this.enabled && (await this.repo.users.count()) === 0;
  }

  onRevoked(listener: (r: Revocation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The principal of a request: the local admin when AUTH is off; else its `Authorization: Bearer dft_…` token
   * (when that header is present the cookie is not looked at: such requests skip the Origin check) or its
   * `df_session` cookie; anonymous when neither is valid.
   */
  async resolve(headers: IncomingHttpHeaders): Promise<Principal> {
    if (!this.enabled) return LOCAL_PRINCIPAL;
    const authorization = headers.authorization;
    if (authorization !== undefined) {
      const token = /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
      return token?.startsWith(API_TOKEN_PREFIX) ? this.resolveToken(token) : ANONYMOUS;
    }
    const cookie = readCookie(headers.cookie, SESSION_COOKIE);
    return cookie ? this.resolveSession(cookie) : ANONYMOUS;
  }

  private async resolveToken(token: string): Promise<Principal> {
    const found = await this.repo.apiTokens.find(sha256Hex(token));
    if (!found || found.user.disabled) return ANONYMOUS;
    const now = Date.now();
    if (found.token.expiresAt && found.token.expiresAt.getTime() <= now) return ANONYMOUS;
    if (!found.token.lastUsedAt || now - found.token.lastUsedAt.getTime() > TOUCH_EVERY_MS) {
      await this.repo.apiTokens.touch(found.token.id, new Date(now));
    }
    return { kind: 'user', via: 'token', tokenId: found.token.id, user: userView(found.user) };
  }

  private async resolveSession(cookie: string): Promise<Principal> {
    const hash = sha256Hex(cookie);
    const found = await this.repo.sessions.find(hash);
    if (!found) return ANONYMOUS;
    const now = Date.now();
    const hardEnd = found.session.createdAt.getTime() + this.config.sessionMaxMs;
    if (found.user.disabled || found.session.expiresAt.getTime() <= now || hardEnd <= now) {
      await this.repo.sessions.remove(hash);
      return ANONYMOUS;
    }
    if (now - found.session.lastSeenAt.getTime() > TOUCH_EVERY_MS) {
      await this.repo.sessions.touch(hash, new Date(Math.min(now + this.config.sessionTtlMs, hardEnd)), new Date(now));
    }
    return { kind: 'user', via: 'session', sessionHash: hash, user: userView(found.user) };
  }

  private async newSession(user: User): Promise<SignedIn> {
    const sessionToken = newSecret();
    const ttl = Math.min(this.config.sessionTtlMs, this.config.sessionMaxMs);
    await this.repo.sessions.create({ tokenHash: sha256Hex(sessionToken), userId: user.id, expiresAt: new Date(Date.now() + ttl) });
    return { user: userView(user), sessionToken, maxAgeS: this.config.sessionMaxMs / 1000 };
  }

  private requireEnabled(what: string): void {
    if (!this.enabled) {
      throw new TRPCError({
        code: 'PRECONDITION_FAILED',
        message: `${what} needs accounts, and AUTH is off (loopback-only mode: everyone is the local admin). Set AUTH=on to use accounts.`,
      });
    }
  }

  /** Failures count per client IP and per username; past the limit every attempt is refused until the window moves. */
  async signIn(username: string, password: string, client: ClientMeta): Promise<SignedIn> {
    this.requireEnabled('Signing in');
    const name = username.trim().toLowerCase();
    const ipKey = `ip:${client.ip}`;
    const userKey = `user:${name}`;
    for (const key of [ipKey, userKey]) {
      const verdict = await this.signInFailures.check(key);
      if (!verdict.ok) throw tooMany('failed sign-ins', verdict.retryAfterS);
    }
    const user = await this.repo.users.getByUsername(name);
    let ok = false;
    if (user) ok = await verifyPassword(user.passwordHash, password);
    else await burnPasswordCheck(password); // as slow as a wrong password: no telling which usernames exist
    if (!user || !ok) {
      await Promise.all([this.signInFailures.hit(ipKey), this.signInFailures.hit(userKey)]);
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Wrong username or password' });
    }
    if (user.disabled) throw new TRPCError({ code: 'FORBIDDEN', message: `The account "${user.username}" is disabled; ask an admin` });
    await this.signInFailures.reset(userKey);
    return this.newSession(user);
  }

  /** Creates the first admin with the setup code from the log, and signs them in. */
  async setup(code: string, username: string, password: string, client: ClientMeta): Promise<SignedIn> {
    this.requireEnabled('Setup');
    for (const verdict of await Promise.all([this.setupAttempts.check(client.ip), this.setupAttemptsAll.check('all')])) {
      if (!verdict.ok) throw tooMany('setup attempts', verdict.retryAfterS);
    }
    // Cluster mode: the code agreed in Redis (the same one every server printed).
    const expected = this.setupCode && this.shared ? await this.shared.currentSetupCode() : this.setupCode;
    if (!expected || (await this.repo.users.count()) > 0) {
      throw new TRPCError({ code: 'CONFLICT', message: 'Setup is done: an admin exists already. Sign in instead.' });
    }
    if (!sameSecret(normalizeSetupCode(code), normalizeSetupCode(expected))) {
      await Promise.all([this.setupAttempts.hit(client.ip), this.setupAttemptsAll.hit('all')]);
      throw new TRPCError({ code: 'UNAUTHORIZED', message: "Wrong setup code: copy it from the web server's log (line \"setup code: …\")" });
    }
    const user = await this.repo.users.createFirst({ username, passwordHash: await hashPassword(password), role: 'admin' });
    if (!user) throw new TRPCError({ code: 'CONFLICT', message: 'Setup is done: an admin exists already. Sign in instead.' });
    this.setupCode = null;
    await this.shared?.setupDone();
    this.log.info(`setup: created the first admin "${user.username}"; the setup code is no longer valid`);
    return this.newSession(user);
  }

  async signOut(principal: Principal): Promise<void> {
    if (principal.kind !== 'user' || !principal.sessionHash) return;
    await this.repo.sessions.remove(principal.sessionHash);
    this.emit({ sessionHashes: [principal.sessionHash] });
  }

  /** Needs the current password (counted like a sign-in failure when wrong); ends the user's other sessions. */
  async changePassword(principal: Principal, currentPassword: string, newPassword: string): Promise<void> {
    this.requireEnabled('Changing a password');
    if (principal.kind !== 'user') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
    const userKey = `user:${principal.user.username}`;
    const verdict = await this.signInFailures.check(userKey);
    if (!verdict.ok) throw tooMany('wrong passwords', verdict.retryAfterS);
    const user = await this.repo.users.get(principal.user.id);
    if (!user || !(await verifyPassword(user.passwordHash, currentPassword))) {
      await this.signInFailures.hit(userKey);
      throw new TRPCError({ code: 'BAD_REQUEST', message: 'The current password is wrong' });
    }
    await this.repo.users.setPasswordHash(user.id, await hashPassword(newPassword));
    const ended = await this.repo.sessions.removeForUser(user.id, principal.sessionHash);
    if (ended.length) this.emit({ sessionHashes: ended });
  }

  // --- users (admin) -------------------------------------------------------------------------------------------

  async createUser(username: string, password: string, role: Role): Promise<PrincipalUser> {
    return userView(await this.repo.users.create({ username, passwordHash: await hashPassword(password), role }));
  }

  /** Disabling ends the user's sessions; their tokens stop working while disabled. */
  async updateUser(id: string, patch: UserPatch): Promise<User> {
    const user = await this.repo.users.update(id, patch);
    if (patch.disabled) await this.endSessionsOf(id);
    return user;
  }

  async resetPassword(id: string, password: string): Promise<void> {
    await this.repo.users.setPasswordHash(id, await hashPassword(password));
    await this.endSessionsOf(id);
  }

  async removeUser(id: string): Promise<void> {
    await this.repo.users.remove(id); // sessions and tokens go with it (foreign keys cascade)
    this.emit({ userId: id });
  }

  private async endSessionsOf(userId: string): Promise<void> {
    await this.repo.sessions.removeForUser(userId);
    this.emit({ userId });
  }

  // --- API tokens (own) ----------------------------------------------------------------------------------------

  async createToken(principal: Principal, name: string, expiresInDays?: number) {
    this.requireEnabled('API tokens');
    if (principal.kind !== 'user') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Sign in first' });
    const { token, tokenHash, prefix } = newApiToken();
    const expiresAt = expiresInDays ? new Date(Date.now() + expiresInDays * 86_400_000) : null;
    const row = await this.repo.apiTokens.create({ userId: principal.user.id, name, tokenHash, prefix, expiresAt });
    return { ...row, token };
  }

  async listTokens(principal: Principal) {
    if (principal.kind !== 'user') return [];
    return this.repo.apiTokens.listForUser(principal.user.id);
  }

  async revokeToken(principal: Principal, id: string): Promise<void> {
    const revoked = principal.kind === 'user' && (await this.repo.apiTokens.revoke(id, principal.user.id));
    if (!revoked) throw new TRPCError({ code: 'NOT_FOUND', message: `You have no API token ${id}` });
    this.emit({ tokenId: id });
  }

  /** Tells this server's listeners and, in cluster mode, the other servers'. */
  private emit(r: Revocation): void {
    this.tell(r);
    this.shared?.publishRevocation(r).catch((err: unknown) => this.log.warn(`revocation not sent to the other web servers: ${(err as Error).message}`));
  }

  private tell(r: Revocation): void {
    for (const listener of this.listeners) {
      try {
        listener(r);
      } catch (err) {
        this.log.warn(`revocation listener failed: ${(err as Error).message}`);
      }
    }
  }

  private async pruneExpired(): Promise<void> {
    try {
      const n = await this.repo.sessions.removeExpired();
      if (n) this.log.info(`removed ${n} expired session(s)`);
    } catch (err) {
      this.log.warn(`could not prune expired sessions: ${(err as Error).message}`);
    }
  }
}
