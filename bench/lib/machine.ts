import os from 'node:os';

/** Markdown lines describing where and when a benchmark ran (cpu, cores, Node, load). */
export function machineHeader(title: string): string {
  const cpu = os.cpus();
  return [
    `## ${title}`,
    '',
    `- date: ${new Date().toISOString()}`,
    `- machine: ${cpu[0]?.model ?? 'unknown cpu'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.platform()} ${os.arch()}`,
    `- load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(', ')} (shared machine: compare rows of one run, not runs)`,
    '',
  ].join('\n');
}

export function loadNow(): string {
  return os.loadavg().map((l) => l.toFixed(2)).join(', ');
}

export function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}
