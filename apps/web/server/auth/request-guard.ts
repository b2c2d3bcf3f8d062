/**
 * Checks every HTTP request and socket.io handshake before any route sees it:
 *   1. Host must be an allowed host (else 421): a page elsewhere cannot reach this server by DNS rebinding,
 *      even with AUTH off (its requests carry the attacker's host name).
 *   2. State-changing requests (anything but GET/HEAD/OPTIONS, and every socket.io request) must come from an
 *      allowed origin (Origin, or Referer when Origin is absent), unless they carry `Authorization: Bearer`
 *      (a browser cannot add that header cross-origin without a CORS preflight, which this server never grants).
 *      With AUTH off a request with neither header is let through: browsers always send Origin on such requests,
 *      so it is a script on this machine, not a forged request. A prediction API call (/api/v1/…/predict) without
 *      a session cookie skips this check too (it carries no ambient credential) and gets 401 without a token.
 *   3. /api/* outside tRPC and /socket.io need a principal with the route's role (401 / 403); tRPC procedures
 *      check their own role (trpc.ts). The principal is resolved once per request and kept for the tRPC context.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { networkInterfaces } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.ts';
import { readCookie, SESSION_COOKIE } from './cookies.ts';
import { OPENAPI_PATH, PREDICT_PATH } from '../predictions/paths.ts';
import { accessDenied, type Principal, type Role } from './principal.ts';
import type { AuthService, ClientMeta } from './service.ts';

export interface RequestGuardOptions {
  auth: AuthService;
  /** HOST, ALLOWED_HOSTS, the host of PUBLIC_URL, this machine's addresses (loopback names are always allowed). */
  allowedHosts: Iterable<string>;
  /** ALLOWED_HOSTS: pages served under these names (any port, any scheme, e.g. a TLS proxy) may change data. */
  trustedOriginHosts?: Iterable<string>;
  /** PUBLIC_URL's origin: the address users type, e.g. a reverse proxy in front of this server. */
  publicOrigin?: string;
  /** Behind a reverse proxy: take the client IP and https-ness from X-Forwarded-For / X-Forwarded-Proto. */
  trustProxy?: boolean;
}

export type Verdict = { ok: true } | { ok: false; status: 401 | 403 | 421; message: string };

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `example.com:3000` → `example.com`; `[::1]:3000` → `::1`; lower-case, no trailing dot. */
export function hostnameOf(hostHeader: string): string {
  let host = hostHeader.trim().toLowerCase();
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') === -1 ? undefined : host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.indexOf(':'));
  return host.replace(/\.$/, '');
}

/**
 * This machine's own IP addresses: a browser that typed one of them reached us directly (no rebinding possible),
 * so HOST=0.0.0.0 works at http://<this machine's IP>:<port> without listing it in ALLOWED_HOSTS.
 */
export function machineAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .map((i) => i?.address)
    .filter((a): a is string => Boolean(a));
}

/** The role a non-tRPC route needs; null for pages and tRPC (procedures decide). */
export function routeRole(pathname: string): Role | null {
  if (pathname === '/api/trpc' || pathname.startsWith('/api/trpc/')) return null;
  if (pathname.startsWith('/api/datasets/uploads')) return 'engineer';
  if (pathname === '/api/backbones/upload') return 'engineer';
  if (pathname === OPENAPI_PATH) return null; // the prediction API's description holds no data
  if (PREDICT_PATH.test(pathname)) return 'engineer'; // predictions, like models.predict
  if (pathname.startsWith('/api/') || pathname.startsWith('/socket.io/')) return 'viewer';
  return null;
}

const principals = new WeakMap<IncomingMessage, Promise<Principal>>();

export class RequestGuard {
  private readonly hosts: Set<string>;
  private readonly trustedOriginHosts: Set<string>;

  constructor(private readonly opts: RequestGuardOptions) {
    // A wildcard bind address (HOST=0.0.0.0) is no name a browser should use.
    this.hosts = new Set([...LOOPBACK_NAMES, ...opts.allowedHosts].map(hostnameOf).filter((h) => h !== '0.0.0.0' && h !== '::'));
    this.trustedOriginHosts = new Set([...(opts.trustedOriginHosts ?? [])].map(hostnameOf));
  }

  get auth(): AuthService {
    return this.opts.auth;
  }

  hostAllowed(hostHeader: string | undefined): boolean {
    if (!hostHeader) return false;
    const name = hostnameOf(hostHeader);
    return this.hosts.has(name) || /^127(\.\d{1,3}){3}$/.test(name);
  }

  /** Why a state-changing request's origin is refused; null when it is fine. */
  originProblem(req: IncomingMessage): string | null {
    if (req.headers.authorization !== undefined) return null;
    let origin = req.headers.origin;
    if (origin === undefined && req.headers.referer) {
      try {
        origin = new URL(req.headers.referer).origin;
      } catch {
        origin = 'null';
      }
    }
    if (origin === undefined) {
      if (!this.opts.auth.enabled) return null;
      return 'Forbidden: a request that changes data needs an Origin header (pages of this server send one) or an API token (Authorization: Bearer dft_…)';
    }
    if (this.originAllowed(origin, req.headers.host)) return null;
    return `Forbidden: origin ${origin} may not change data on this server (only its own pages may; set PUBLIC_URL or ALLOWED_HOSTS when it is served under another address)`;
  }

  private originAllowed(origin: string, hostHeader: string | undefined): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false; // "null" (sandboxed pages, file://) and garbage
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    if (this.opts.publicOrigin && url.origin === this.opts.publicOrigin) return true;
    if (this.trustedOriginHosts.has(hostnameOf(url.hostname))) return true;
    // Same origin: the page was served by this very host and port.
    return hostHeader !== undefined && url.host === hostHeader.toLowerCase() && this.hostAllowed(url.host);
  }

  /** The request's principal, resolved once (the tRPC context reuses it). */
  principal(req: IncomingMessage): Promise<Principal> {
    let p = principals.get(req);
    if (!p) {
      p = this.opts.auth.resolve(req.headers);
      principals.set(req, p);
    }
    return p;
  }

  clientMeta(req: IncomingMessage): ClientMeta {
    const forwarded = (name: string) => {
      const v = req.headers[name];
      return (Array.isArray(v) ? v.join(',') : v)?.split(',').map((s) => s.trim()).filter(Boolean);
    };
    // The proxy appends the address it saw: the last entry is the one nobody but the proxy could forge.
    const ip = (this.opts.trustProxy && forwarded('x-forwarded-for')?.at(-1)) || req.socket.remoteAddress || 'unknown';
    const encrypted = 'encrypted' in req.socket && Boolean((req.socket as { encrypted?: boolean }).encrypted);
    const secure =
      encrypted ||
      (this.opts.trustProxy === true && forwarded('x-forwarded-proto')?.at(-1) === 'https') ||
      this.opts.publicOrigin?.startsWith('https:') === true;
    return { ip, secure };
  }

  /** Every check above, for one request (socket.io handshakes and polls are always origin-checked). */
  async check(req: IncomingMessage): Promise<Verdict> {
    if (!this.hostAllowed(req.headers.host)) {
      return {
        ok: false,
        status: 421,
        message: `Misdirected Request: host ${req.headers.host ?? '(none)'} is not allowed; set ALLOWED_HOSTS`,
      };
    }
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const isSocket = pathname.startsWith('/socket.io/');
    const isPredictApi = PREDICT_PATH.test(pathname);
    // A prediction API call without a session cookie carries nothing a forged request could use: it gets the
    // role check's 401 (no token) instead of the Origin refusal. With a cookie it is a browser's: Origin applies.
    const originChecked = isSocket || (!SAFE_METHODS.has(req.method ?? 'GET') && !(isPredictApi && !readCookie(req.headers.cookie, SESSION_COOKIE)));
    if (originChecked) {
      const problem = this.originProblem(req);
      if (problem) return { ok: false, status: 403, message: problem };
    }
    const needed = routeRole(pathname);
    if (needed) {
      const denied = accessDenied(await this.principal(req), needed);
      if (denied?.status === 401 && isPredictApi) {
        return { ok: false, status: 401, message: 'The prediction API needs an API token: Authorization: Bearer dft_… (create one under Settings → API tokens)' };
      }
      if (denied) return { ok: false, ...denied };
    }
    return { ok: true };
  }
}

function refuse(req: IncomingMessage, res: ServerResponse, verdict: Extract<Verdict, { ok: false }>): void {
  const pathname = (req.url ?? '/').split('?')[0] ?? '/';
  const headers = { 'cache-control': 'no-store', connection: 'close' };
  if (pathname.startsWith('/api/trpc')) {
    // The shape tRPC clients read, so the browser shows the message instead of "unexpected response".
    const code = verdict.status === 401 ? 'UNAUTHORIZED' : verdict.status === 403 ? 'FORBIDDEN' : 'MISDIRECTED_REQUEST';
    const body = { error: { message: verdict.message, code: -32003, data: { code, httpStatus: verdict.status } } };
    res.writeHead(verdict.status, { ...headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  } else if (pathname.startsWith('/api/') || pathname.startsWith('/socket.io/')) {
    res.writeHead(verdict.status, { ...headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ error: verdict.message }));
  } else {
    res.writeHead(verdict.status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(`${verdict.message}\n`);
  }
}

const STATUS_TEXT: Record<number, string> = { 401: 'Unauthorized', 403: 'Forbidden', 421: 'Misdirected Request' };

/**
 * Puts the guard in front of every 'request' and 'upgrade' listener of the server (Next, tRPC, file routes and
 * socket.io's own, which it installed when it attached): call it after socket.io is attached.
 */
export function installRequestGuard(server: Server, guard: RequestGuard, log: Logger): void {
  const requestListeners = server.listeners('request') as Array<(req: IncomingMessage, res: ServerResponse) => void>;
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    guard.check(req).then(
      (verdict) => {
        if (!verdict.ok) return refuse(req, res, verdict);
        for (const listener of requestListeners) listener.call(server, req, res);
      },
      (err: unknown) => {
        log.error(`request check of ${req.method} ${req.url} failed: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end('Internal Server Error\n');
      },
    );
  });

  const upgradeListeners = server.listeners('upgrade') as Array<(req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    guard.check(req).then(
      (verdict) => {
        if (verdict.ok) {
          for (const listener of upgradeListeners) listener.call(server, req, socket, head);
          return;
        }
        const body = JSON.stringify({ error: verdict.message });
        socket.end(
          `HTTP/1.1 ${verdict.status} ${STATUS_TEXT[verdict.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      },
      (err: unknown) => {
        log.error(`upgrade check of ${req.url} failed: ${(err as Error).message}`);
        socket.destroy();
      },
    );
  });
}
