/** The one behaviour every ArtifactStore must have; run against FsStore and against S3Store on a real S3 server. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../src/index.ts';

export function storeContract(name: string, makeStore: () => ArtifactStore): void {
  describe(`${name}: ArtifactStore contract`, () => {
    it('put/get/has round-trip bytes, strings and Uint8Arrays; a missing key is null/false', async () => {
      const s = makeStore();
      const bytes = Buffer.from([0, 1, 2, 255, 254]);
      await s.put('runs/r1/metrics-eval.json', '{"accuracy":0.9}');
      await s.put('runs/r1/blob.bin', bytes);
      await s.put('runs/r1/u8.bin', new Uint8Array([7, 8, 9]));
      expect((await s.get('runs/r1/metrics-eval.json'))?.toString('utf8')).toBe('{"accuracy":0.9}');
      expect(await s.get('runs/r1/blob.bin')).toEqual(bytes);
      expect(await s.get('runs/r1/u8.bin')).toEqual(Buffer.from([7, 8, 9]));
      expect(await s.has('runs/r1/blob.bin')).toBe(true);
      expect(await s.has('runs/r1/nope.bin')).toBe(false);
      expect(await s.get('runs/r1/nope.bin')).toBeNull();
      // A "folder" is not an object.
      expect(await s.has('runs/r1')).toBe(false);
      expect(await s.get('runs/r1')).toBeNull();
    });

    it('put replaces an object whole', async () => {
      const s = makeStore();
      await s.put('models/m1/model.json', 'a much longer first version');
      await s.put('models/m1/model.json', 'short');
      expect((await s.get('models/m1/model.json'))?.toString()).toBe('short');
    });

    it('putFile and getToFile stream files both ways; getToFile of a missing key is false and writes nothing', async () => {
      const s = makeStore();
      const dir = await mkdtemp(join(tmpdir(), 'df-store-contract-'));
      const big = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
      await writeFile(join(dir, 'weights.bin'), big);
      await s.putFile('models/m2/weights.bin', join(dir, 'weights.bin'));
      expect(await s.getToFile('models/m2/weights.bin', join(dir, 'out', 'deep', 'w.bin'))).toBe(true);
      expect((await readFile(join(dir, 'out', 'deep', 'w.bin'))).equals(big)).toBe(true);
      expect(await s.getToFile('models/m2/missing.bin', join(dir, 'missing.bin'))).toBe(false);
      const stream = await s.getStream('models/m2/weights.bin');
      const chunks: Buffer[] = [];
      for await (const c of stream!) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).equals(big)).toBe(true);
      expect(await s.getStream('models/m2/missing.bin')).toBeNull();
      await expect(readFile(join(dir, 'missing.bin'))).rejects.toThrow(/ENOENT/);
    });

    it('list returns keys under a prefix with sizes, sorted; a partial last segment filters', async () => {
      const s = makeStore();
      await s.put('runs/r2/metrics-b.json', '22');
      await s.put('runs/r2/metrics-a.json', '1');
      await s.put('runs/r2/same-split-m.json', '333');
      await s.put('runs/r20/metrics-a.json', 'x');
      expect(await s.list('runs/r2/')).toEqual([
        { key: 'runs/r2/metrics-a.json', size: 1 },
        { key: 'runs/r2/metrics-b.json', size: 2 },
        { key: 'runs/r2/same-split-m.json', size: 3 },
      ]);
      expect((await s.list('runs/r2/metrics-')).map((o) => o.key)).toEqual(['runs/r2/metrics-a.json', 'runs/r2/metrics-b.json']);
      expect(await s.list('runs/none/')).toEqual([]);
    });

    it('delete removes one object (missing is fine); deletePrefix removes a folder and nothing beside it', async () => {
      const s = makeStore();
      await s.put('models/m3/a.json', 'a');
      await s.put('models/m3/sub/b.bin', 'b');
      await s.put('models/m30/keep.json', 'k');
      await s.delete('models/m3/a.json');
      await s.delete('models/m3/a.json');
      expect(await s.has('models/m3/a.json')).toBe(false);
      expect(await s.deletePrefix('models/m3/')).toBe(1);
      expect(await s.list('models/m3/')).toEqual([]);
      expect(await s.get('models/m30/keep.json')).toEqual(Buffer.from('k'));
      await expect(s.deletePrefix('')).rejects.toThrow(/non-empty prefix/);
    });

    it('refuses hostile keys with an error naming the key', async () => {
      const s = makeStore();
      for (const key of ['../etc/passwd', '/abs/key', 'runs/../../x', 'runs//x', 'runs/a b', 'runs/x\\y', 'runs/.']) {
        await expect(s.put(key, 'x'), key).rejects.toThrow(`invalid storage key ${JSON.stringify(key)}`);
        await expect(s.get(key), key).rejects.toThrow('invalid storage key');
      }
      await expect(s.list('../')).rejects.toThrow('invalid storage key "../"');
      await expect(s.deletePrefix('runs/../')).rejects.toThrow('invalid storage key');
    });

    it('describe names the kind and never a secret', () => {
      const d = makeStore().describe();
      expect(d).toMatch(/^(filesystem|s3) /);
      expect(d).not.toMatch(/S3RVER|secret/i);
    });
  });
}
