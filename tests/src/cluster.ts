/**
 * Cluster mode processes for the multi-process test and bench/cluster-throughput.ts: web servers and runners started
 * exactly as the systemd units in deploy/systemd say (their ExecStart and Environment lines, `%i` = instance), with
 * the machine paths (/var/lib/defectflow, /opt/defectflow) mapped to a temp folder and the repository.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AppHandle, freePort, REPO_ROOT, startApp } from './harness.ts';

export interface UnitCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/** A unit file's ExecStart and Environment= lines for one instance (EnvironmentFile stands for the test's env). */
export function readUnit(name: string, instance: string, varLib: string): UnitCommand {
  const text = readFileSync(join(REPO_ROOT, 'deploy', 'systemd', name), 'utf8');
  const env: Record<string, string> = {};
  let exec: string[] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim().replaceAll('%i', instance).replaceAll('/var/lib/defectflow', varLib);
    const setting = /^Environment=([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (setting) env[setting[1] as string] = setting[2] as string;
    if (line.startsWith('ExecStart=')) exec = line.slice('ExecStart='.length).split(/\s+/);
  }
  if (!exec?.length) throw new Error(`deploy/systemd/${name} has no ExecStart`);
  return { file: exec[0] as string, args: exec.slice(1), env };
}

export interface ClusterRunner {
  runnerId: string;
  dataDir: string;
  pid(): number | null;
  logs(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** A runner from deploy/systemd/defectflow-runner@.service, ready once it says it takes runs from the queue. */
export async function startClusterRunner(runnerId: string, varLib: string, env: Record<string, string>): Promise<ClusterRunner> {
  const unit = readUnit('defectflow-runner@.service', runnerId, varLib);
  let output = '';
  const proc: ChildProcess = spawn(unit.file, unit.args, {
    cwd: REPO_ROOT,
    env: { ...process.env, RUNNER_PORT: '0', RUNNER_TOKEN: '', RUNNER_URL: '', ...unit.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner ${runnerId} not ready after 60 s:\n${output.slice(-3000)}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(`runner ${runnerId} takes runs from`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`runner ${runnerId} exited (${signal ?? code}) before it was ready:\n${output.slice(-3000)}`));
    });
  });
  return {
    runnerId,
    dataDir: unit.env.DATA_DIR ?? '',
    pid: () => (proc.exitCode === null && proc.signalCode === null ? (proc.pid ?? null) : null),
    logs: () => output,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
}

/** A web server from deploy/systemd/defectflow-web@.service on a free port (the instance), through the e2e harness. */
export async function startClusterWeb(varLib: string, env: Record<string, string>): Promise<AppHandle> {
  const port = await freePort();
  const unit = readUnit('defectflow-web@.service', String(port), varLib);
  return startApp({
    port,
    dataDir: unit.env.DATA_DIR,
    env: { ...unit.env, ...env },
    command: { file: unit.file, args: unit.args, cwd: REPO_ROOT },
  });
}
