import { endlessGraph } from './src/reliability.ts';
const url = 'http://127.0.0.1:3917';
const trpc = async (path: string, input: unknown, mutation = false) => {
  const res = mutation
    ? await fetch(`${url}/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) })
    : await fetch(`${url}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`);
  return (await res.json()) as any;
};
const a = (await trpc('runs.start', { graph: endlessGraph('tiny', 1) }, true)).result.data.runId;
const b = (await trpc('runs.start', { graph: endlessGraph('tiny', 2), retryOnLoss: true }, true)).result.data.runId;
const c = (await trpc('runs.start', { graph: endlessGraph('tiny', 3) }, true)).result.data.runId;
console.log('started', a, b, c);
await new Promise((r) => setTimeout(r, 8000));
const st = (await trpc('runner.status', undefined)).result.data;
console.log(JSON.stringify(st.runners.map((r: any) => [r.runnerId, r.pid, r.running])), 'queue', st.queue);
// cancel the queued one
console.log('cancel c', JSON.stringify((await trpc('runs.cancel', { runId: c }, true)).result));
const holderOfA = st.runners.find((r: any) => r.running.includes(a));
if (holderOfA) { process.kill(holderOfA.pid, 'SIGKILL'); console.log('killed', holderOfA.runnerId, 'holding a'); }
const holderOfB = st.runners.find((r: any) => r.running.includes(b));
if (holderOfB && holderOfB !== holderOfA) { process.kill(holderOfB.pid, 'SIGKILL'); console.log('killed', holderOfB.runnerId, 'holding b'); }
for (let i = 0; i < 30; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  const rows = await Promise.all([a, b, c].map(async (id) => (await trpc('runs.get', { runId: id })).result.data));
  console.log(rows.map((r: any) => `${r.status}/${r.runnerId}/${r.lastSeq}/${(r.error ?? '').slice(0, 80)}`).join(' | '));
  if (rows.every((r: any) => !['queued', 'running'].includes(r.status))) break;
}
