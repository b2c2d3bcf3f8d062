/**
 * TLS to a remote runner: a real runner serving https with a self-signed certificate made by openssl at test time,
 * reached by the web server's runner link (tRPC and socket.io) trusting it through RUNNER_CA.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createRunnerServer, readEnv, type RunnerServer } from '@defectflow/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../server/env.ts';
import { connectRunner, plainRunnerWarning, type RunnerLink } from '../server/runner-link.ts';
import { tempDir, waitFor } from './helpers.ts';

const TOKEN = 'tls-test-token-0123456789';
const dir = tempDir('df-tls-');
const certFile = join(dir, 'runner.crt');
let runner: RunnerServer;
const links: RunnerLink[] = [];

beforeAll(async () => {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-keyout', join(dir, 'runner.key'), '-out', certFile,
    '-subj', '/CN=defectflow test runner', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { stdio: 'ignore' });
  // The runner's own env module reads the PEM files, as in production.
  const env = readEnv({ NODE_ENV: 'test', RUNNER_TOKEN: TOKEN, RUNNER_TLS_CERT: certFile, RUNNER_TLS_KEY: join(dir, 'runner.key'), DATA_DIR: join(dir, 'data') });
  runner = await createRunnerServer({ ...env, port: 0, backend: { name: 'stub', device: 'test' }, log: () => {} });
});
afterAll(async () => {
  for (const l of links) l.close();
  await runner?.close();
});

describe('runner over https', () => {
  it('a link trusting RUNNER_CA gets the status over tRPC and connects its socket', async () => {
    expect(runner.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const { runnerCa } = loadEnv({ RUNNER_URL: runner.url, RUNNER_TOKEN: TOKEN, RUNNER_CA: certFile });
    const link = connectRunner({ url: runner.url, token: TOKEN, ca: runnerCa });
    links.push(link);
    expect(await link.capabilities()).toMatchObject({ backend: 'stub', device: 'test', busy: false });
    await waitFor(() => link.isConnected());
  });

  it('without RUNNER_CA the link refuses the certificate and says so', async () => {
    const errors: string[] = [];
    const link = connectRunner({ url: runner.url, token: TOKEN, onError: (m) => errors.push(m) });
    links.push(link);
    await expect(link.capabilities()).rejects.toThrow(/self[- ]signed certificate/);
    await waitFor(() => errors.length > 0);
    expect(link.isConnected()).toBe(false);
  });

  it('warns when the runner token would travel in clear', () => {
    expect(plainRunnerWarning('http://10.0.0.7:3100')).toMatch(/plain http to another machine: the runner token travels in clear/);
    expect(plainRunnerWarning('http://127.0.0.1:3100')).toBeNull();
    expect(plainRunnerWarning('https://gpu-box:3100')).toBeNull();
  });
});
