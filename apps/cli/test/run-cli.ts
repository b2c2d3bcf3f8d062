/** The CLI as a user runs it: `node bin/defectflow.js …` in a working folder, DATA_DIR inside it; never throws. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../bin/defectflow.js', import.meta.url));
/** The shipped default pipeline. */
export const EXAMPLE = fileURLToPath(new URL('../../../examples/default-pipeline.json', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(work: string, args: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: work,
      env: { ...process.env, DATA_DIR: path.join(work, 'data'), ...extraEnv },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
