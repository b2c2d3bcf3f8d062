/** The backbone library through the store: published by one machine, fetched by another (FsStore and s3rver). */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchBackbone, FsStore, listStoredBackbones, publishBackbone } from '../src/index.ts';
import type { ArtifactStore } from '../src/store.ts';
import { startTestS3Server, type TestS3Server } from '../src/testing.ts';

let s3: TestS3Server;
const dirs: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'df-backbones-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  s3 = await startTestS3Server();
});
afterAll(async () => {
  await s3?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const cases: Array<[string, () => ArtifactStore]> = [
  ['filesystem', () => new FsStore(temp())],
  ['s3', () => s3.store(`backbones-${Math.random().toString(36).slice(2)}`)],
];

describe.each(cases)('backbones through the %s store', (_kind, makeStore) => {
  it('carries the .onnx file and its settings sidecar to another machine, and follows sidecar edits', async () => {
    const store = makeStore();
    const web = temp();
    const runner = join(temp(), 'backbones');
    mkdirSync(runner, { recursive: true });
    writeFileSync(join(web, 'resnet.onnx'), Buffer.alloc(4096, 7));
    writeFileSync(join(web, 'resnet.onnx.json'), JSON.stringify({ inputSize: 224 }));
    expect(await fetchBackbone(store, runner, 'resnet.onnx')).toBe(false); // not published yet

    await publishBackbone(store, web, 'resnet.onnx');
    expect(await listStoredBackbones(store)).toEqual(['resnet.onnx']);
    expect(await fetchBackbone(store, runner, 'resnet.onnx')).toBe(true);
    expect(readFileSync(join(runner, 'resnet.onnx'))).toEqual(readFileSync(join(web, 'resnet.onnx')));
    expect(JSON.parse(readFileSync(join(runner, 'resnet.onnx.json'), 'utf8'))).toEqual({ inputSize: 224 });

    // Settings changed on the web server: same .onnx, new sidecar; a removed sidecar is removed there too.
    writeFileSync(join(web, 'resnet.onnx.json'), JSON.stringify({ inputSize: 256, cut: 'layer3' }));
    await publishBackbone(store, web, 'resnet.onnx');
    await fetchBackbone(store, runner, 'resnet.onnx');
    expect(JSON.parse(readFileSync(join(runner, 'resnet.onnx.json'), 'utf8'))).toEqual({ inputSize: 256, cut: 'layer3' });
    rmSync(join(web, 'resnet.onnx.json'));
    await publishBackbone(store, web, 'resnet.onnx');
    await fetchBackbone(store, runner, 'resnet.onnx');
    expect(existsSync(join(runner, 'resnet.onnx.json'))).toBe(false);
  });

  it('refuses a hostile name before touching anything', async () => {
    const store = makeStore();
    await expect(fetchBackbone(store, temp(), '../../etc/passwd')).rejects.toThrow(/passwd|key/);
    await expect(publishBackbone(store, temp(), 'missing.onnx')).rejects.toThrow(/missing\.onnx is not in/);
  });
});
