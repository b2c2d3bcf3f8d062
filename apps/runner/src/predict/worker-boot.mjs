// Entry of the prediction worker thread: registers tsx (the server and the engine are TypeScript) and loads
// predict/worker.ts. Node 20 does not apply `--import tsx` hooks to a worker's own entry file, hence this step.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
