/**
 * A fetch over node:https that trusts a given CA (a self-signed runner certificate): the global fetch cannot take
 * one without an undici dispatcher. It also reports certificate problems by their own message ("self-signed
 * certificate", "unable to verify the first certificate") instead of fetch's bare "fetch failed".
 */
import { Agent, request } from 'node:https';

export interface HttpsFetch {
  fetch: (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  close(): void;
}

function bodyOf(body: RequestInit['body']): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  throw new Error('https fetch: only string and byte request bodies are supported');
}

export function createHttpsFetch(options: { ca?: string }): HttpsFetch {
  const agent = new Agent({ ca: options.ca, keepAlive: true });
  const fetch = (input: string | URL | Request, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal ?? undefined }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of [value ?? []].flat()) out.append(name, v);
          }
          const status = res.statusCode ?? 502;
          const empty = status === 204 || status === 304;
          resolve(new Response(empty ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: out }));
        });
      });
      req.on('error', reject);
      req.end(bodyOf(init.body));
    });
  return { fetch, close: () => agent.destroy() };
}
