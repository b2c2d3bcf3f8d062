import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../server/env.ts';
import { silentLogger } from '../server/log.ts';
import { pickPort, startEmbeddedRunner } from '../server/runner-process.ts';
import { tempDir, waitFor } from './helpers.ts';

const FAKE = fileURLToPath(new URL('./fixtures/fake-runner.mjs', import.meta.url));

const reachable = (url: string) =>
  fetch(url).then(
    async (r) => r.text(),
    () => null,
  );

describe('embedded runner process', () => {
  it('passes port and token, restarts it after a crash, and stops it', async () => {
    const crashFile = join(tempDir(), 'crashed');
    const runner = await startEmbeddedRunner({
      repoRoot: REPO_ROOT,
      port: 0,
      token: 'secret-token-1234567890',
      dataDir: tempDir(),
      datasetsRoot: tempDir(),
      baseEnv: { PATH: process.env.PATH, CRASH_ONCE_FILE: crashFile },
      log: silentLogger,
      entry: FAKE,
    });
    try {
      await waitFor(() => runner.restarts() === 1, 15_000);
      expect(await waitFor(() => reachable(runner.url), 15_000)).toBe('token=secret-token-1234567890');
    } finally {
      await runner.stop();
    }
    expect(await reachable(runner.url)).toBeNull();
  });

  it('pickPort takes the preferred port when free and another one when it is taken', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const taken = (busy.address() as { port: number }).port;
    try {
      const other = await pickPort(taken);
      expect(other).not.toBe(taken);
      expect(other).toBeGreaterThan(0);
    } finally {
      busy.close();
    }
    expect(await pickPort(taken)).toBe(taken);
  });
});
