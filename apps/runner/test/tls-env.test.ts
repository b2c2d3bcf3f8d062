import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEnv } from '../src/env.ts';
import { tempDir } from './helpers.ts';

const tmp = tempDir('defectflow-runner-tls-');
const cert = path.join(tmp.dir, 'c.pem');
const key = path.join(tmp.dir, 'k.pem');
afterAll(() => tmp.remove());

describe('RUNNER_TLS_CERT / RUNNER_TLS_KEY', () => {
  const base = { RUNNER_TOKEN: 'a-token-of-16-chars-or-more' };

  it('both PEM files: the runner serves https with them; neither: plain http', () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-keyout', key, '-out', cert, '-subj', '/CN=t'], {
      stdio: 'ignore',
    });
    const env = readEnv({ ...base, RUNNER_TLS_CERT: cert, RUNNER_TLS_KEY: key });
    expect(env.tls?.cert).toContain('BEGIN CERTIFICATE');
    expect(env.tls?.key).toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    expect(readEnv(base).tls).toBeUndefined();
  });

  it('one without the other, an unreadable file or the wrong kind of PEM stops the start naming the variable', () => {
    expect(() => readEnv({ ...base, RUNNER_TLS_CERT: cert })).toThrow(/RUNNER_TLS_CERT and RUNNER_TLS_KEY: set both/);
    expect(() => readEnv({ ...base, RUNNER_TLS_CERT: path.join(tmp.dir, 'nope.pem'), RUNNER_TLS_KEY: key })).toThrow(
      /RUNNER_TLS_CERT: cannot read/,
    );
    expect(() => readEnv({ ...base, RUNNER_TLS_CERT: cert, RUNNER_TLS_KEY: cert })).toThrow(/RUNNER_TLS_KEY: .* is not a PEM file of the right kind/);
  });
});
