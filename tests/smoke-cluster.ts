import { join } from 'node:path';
import { quickGraph } from './src/reliability.ts';
const url = process.argv[2] ?? 'http://127.0.0.1:3917';
const root = process.argv[3] ?? '/tmp/df-c1/datasets';
const n = Number(process.argv[4] ?? 1);
const engine = (await import('@defectflow/engine')) as any;
const { existsSync } = await import('node:fs');
if (!existsSync(join(root, 'tiny'))) await engine.generateSampleDataset(join(root, 'tiny'), { perClass: 12, size: 64, seed: 7, classes: ['crazing', 'inclusion', 'scratches'] });
const trpc = async (path: string, input: unknown, mutation = false) => {
  const res = mutation
    ? await fetch(`${url}/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
    : await fetch(`${url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
  return (await res.json()) as any;
};
const ids: string[] = [];
for (let i = 0; i < n; i++) {
  const r = await trpc('runs.start', { graph: quickGraph('tiny', { seed: 1 + (i % 3) }, {}) }, true);
  console.log(JSON.stringify(r).slice(0, 300));
  ids.push(r.result.data.runId);
}
const t0 = Date.now();
for (const id of ids) {
  for (;;) {
    const r = await trpc('runs.get', { runId: id });
    const run = r.result.data;
    if (!['queued', 'running'].includes(run.status)) {
      console.log(id, run.status, run.error, run.lastSeq, run.runnerId, JSON.stringify(run.metrics ?? {}).slice(0, 120));
      break;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}
console.log('elapsed', Date.now() - t0);
