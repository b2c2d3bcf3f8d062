import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from '../server/env.ts';

describe('access control settings', () => {
  it('loopback HOST: AUTH off by default (zero config); any other HOST: AUTH on', () => {
    expect(loadEnv({}).auth.enabled).toBe(false);
    expect(loadEnv({ HOST: 'localhost' }).auth.enabled).toBe(false);
    expect(loadEnv({ HOST: '::1' }).auth.enabled).toBe(false);
    expect(loadEnv({ HOST: '0.0.0.0' }).auth.enabled).toBe(true);
    expect(loadEnv({ HOST: '127.0.0.1', AUTH: 'on' }).auth.enabled).toBe(true);
  });

  it('refuses AUTH=off on a non-loopback HOST, naming both', () => {
    expect(() => loadEnv({ HOST: '0.0.0.0', AUTH: 'off' })).toThrow(EnvError);
    expect(() => loadEnv({ HOST: '10.0.0.5', AUTH: 'off' })).toThrow(/AUTH: is off while HOST=10\.0\.0\.5 is not a loopback address/);
  });

  it('defaults for sessions and limits; ADMIN_USERNAME needs ADMIN_PASSWORD of 10+ characters', () => {
    expect(loadEnv({ HOST: '0.0.0.0' })).toMatchObject({
      auth: { sessionTtlMs: 12 * 3_600_000, sessionMaxMs: 7 * 86_400_000, signInMaxFailures: 10, signInWindowMs: 15 * 60_000 },
      socketJoinLimit: 30,
      allowedHosts: [],
    });
    expect(loadEnv({ ADMIN_USERNAME: 'Boss', ADMIN_PASSWORD: 'long enough pw' }).auth.admin).toEqual({
      username: 'boss',
      password: 'long enough pw',
    });
    expect(() => loadEnv({ ADMIN_USERNAME: 'boss' })).toThrow(/ADMIN_PASSWORD: set ADMIN_USERNAME and ADMIN_PASSWORD together/);
    expect(() => loadEnv({ ADMIN_USERNAME: 'boss', ADMIN_PASSWORD: 'short' })).toThrow(/ADMIN_PASSWORD: must be at least 10/);
    expect(loadEnv({ ALLOWED_HOSTS: 'df.factory, 10.0.0.5 ,' }).allowedHosts).toEqual(['df.factory', '10.0.0.5']);
  });

  it('RUNNER_CA must be a readable PEM certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'df-env-'));
    writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    writeFileSync(join(dir, 'junk.pem'), 'hello');
    expect(loadEnv({ RUNNER_CA: join(dir, 'ca.pem') }).runnerCa).toContain('BEGIN CERTIFICATE');
    expect(() => loadEnv({ RUNNER_CA: join(dir, 'missing.pem') })).toThrow(/RUNNER_CA: cannot read/);
    expect(() => loadEnv({ RUNNER_CA: join(dir, 'junk.pem') })).toThrow(/RUNNER_CA: .* is not a PEM certificate/);
  });
});
