/**
 * Dataset uploads over the real HTTP routes (/api/datasets/uploads/<id>/…), the way the datasets page sends
 * them: a zip in chunks at ?offset=, then finish?name=. Answers come back as { status, body } so a test can
 * assert the refusal the user would see.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { makeZip, type FixtureEntry } from '../../apps/web/test/zip-fixture.ts';
import type { AppHandle } from './harness.ts';

export { makeZip, type FixtureEntry };

export interface HttpAnswer {
  status: number;
  body: { error?: string; [key: string]: unknown };
}

async function answer(res: Response): Promise<HttpAnswer> {
  const text = await res.text();
  let body: HttpAnswer['body'];
  try {
    body = JSON.parse(text) as HttpAnswer['body'];
  } catch {
    body = { error: text };
  }
  return { status: res.status, body };
}

export const newUploadId = () => `up-${randomUUID()}`;

const base = (app: AppHandle, id: string) => `${app.url}/api/datasets/uploads/${id}`;

export async function putChunk(app: AppHandle, id: string, offset: number, chunk: Buffer | ReadableStream<Uint8Array>, length?: number) {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (length !== undefined) headers['content-length'] = String(length);
  const init: RequestInit & { duplex?: 'half' } = {
    method: 'PUT',
    headers,
    body: Buffer.isBuffer(chunk) ? new Uint8Array(chunk) : chunk,
  };
  if (!Buffer.isBuffer(chunk)) init.duplex = 'half';
  return answer(await fetch(`${base(app, id)}/archive?offset=${offset}`, init));
}

export async function finishUpload(app: AppHandle, id: string, name: string): Promise<HttpAnswer> {
  return answer(await fetch(`${base(app, id)}/finish?name=${encodeURIComponent(name)}`, { method: 'POST' }));
}

export async function uploadStatus(app: AppHandle, id: string): Promise<HttpAnswer> {
  return answer(await fetch(base(app, id)));
}

export async function cancelUpload(app: AppHandle, id: string): Promise<HttpAnswer> {
  return answer(await fetch(base(app, id), { method: 'DELETE' }));
}

/** A whole zip in one chunk, then finish: the refusal of either step, or the finish answer. */
export async function uploadZip(app: AppHandle, name: string, zip: Buffer): Promise<HttpAnswer & { id: string }> {
  const id = newUploadId();
  const put = await putChunk(app, id, 0, zip);
  if (put.status !== 200) return { ...put, id };
  return { ...(await finishUpload(app, id, name)), id };
}

/** Zip entries for every file under `dir`, named `prefix` + the path relative to dir. */
export function entriesOf(dir: string, prefix = ''): FixtureEntry[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const abs = join(e.parentPath, e.name);
      return { name: prefix + relative(dir, abs).split('\\').join('/'), data: readFileSync(abs) };
    });
}

/** A request body that trickles out `data` over about `ms` (to keep two requests in flight together). */
export function slowBody(data: Buffer, ms: number, pieces = 8): ReadableStream<Uint8Array> {
  let i = 0;
  const size = Math.ceil(data.length / pieces);
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= pieces) {
        controller.close();
        return;
      }
      await new Promise((r) => setTimeout(r, ms / pieces));
      controller.enqueue(new Uint8Array(data.subarray(i * size, (i + 1) * size)));
      i++;
    },
  });
}
