import { mkdtempSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStore } from '../src/index.ts';
import { startTestS3Server, type TestS3Server } from '../src/testing.ts';
import { storeContract } from './contract.ts';

storeContract('FsStore', () => new FsStore(mkdtempSync(join(tmpdir(), 'df-fsstore-'))));

let s3: TestS3Server;
let n = 0;
beforeAll(async () => {
  s3 = await startTestS3Server();
});
afterAll(() => s3?.close());
// Each test its own key prefix in one bucket (also proves the prefix confines listings and deletions).
storeContract('S3Store (s3rver on loopback)', () => s3.store(`t${++n}`));

describe('FsStore specifics', () => {
  it('keys are paths under the root, so a store rooted at DATA_DIR reads today\'s files; writes leave no temp files', async () => {
    const root = mkdtempSync(join(tmpdir(), 'df-fsstore-'));
    const s = new FsStore(root);
    await s.put('runs/r1/metrics-e.json', '{}');
    expect(await readFile(join(root, 'runs', 'r1', 'metrics-e.json'), 'utf8')).toBe('{}');
    expect(await readdir(join(root, 'runs', 'r1'))).toEqual(['metrics-e.json']);
  });

  it('putFile/getToFile of the very file a key names are no-ops (embedded default: nothing copied)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'df-fsstore-'));
    const s = new FsStore(root);
    await s.put('models/m/model.json', 'same');
    await s.putFile('models/m/model.json', join(root, 'models', 'm', 'model.json'));
    expect(await s.getToFile('models/m/model.json', join(root, 'models', 'm', 'model.json'))).toBe(true);
    expect(await readFile(join(root, 'models', 'm', 'model.json'), 'utf8')).toBe('same');
  });
});
