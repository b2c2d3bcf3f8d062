/**
 * The real prediction path for web tests: a real runner (createRunnerServer: its tRPC, token, prediction worker
 * with TensorFlow.js) on a loopback port, reading model folders from `modelsDir`, and the web server's
 * createPredictor over the real tRPC transport. What the web server does in production, minus the child process.
 */
import { join } from 'node:path';
import { createRunnerServer, type RunnerServer } from '@defectflow/runner';
import { inspectBackbone, measureBackbone } from '@defectflow/runner/predict';
import { createPredictor, type Predictor } from '../server/predict.ts';
import { type BackboneInspector, type PredictTransport, trpcPredictTransport } from '../server/predict-transport.ts';
import { tempDir } from './helpers.ts';

export interface RunnerPredictorLimits {
  maxQueue: number;
  maxImages: number;
  maxImageBytes: number;
  maxModels: number;
  maxPixels: number;
}

export interface RunnerPredictor extends Predictor {
  runner: RunnerServer;
  transport: PredictTransport;
}

const TOKEN = 'web-test-runner-token-0123456789';

export async function startRunnerPredictor(limits: RunnerPredictorLimits, modelsDir: string, timeoutMs = 120_000): Promise<RunnerPredictor> {
  const dataDir = tempDir('df-test-runner-');
  const runner = await createRunnerServer({
    port: 0,
    host: '127.0.0.1',
    token: TOKEN,
    dataDir,
    datasetsRoot: join(dataDir, 'datasets'),
    backend: { name: 'stub', device: 'test' },
    executeFn: async () => ({ status: 'succeeded', outputs: {}, summaries: {}, timings: {}, cached: [] }) as never, // no runs here
    predict: limits,
    predictModelsDir: modelsDir,
    log: () => {},
  });
  const transport = trpcPredictTransport({ url: runner.url, token: TOKEN, timeoutMs });
  const predictor = createPredictor({ transport, modelsDir, limits });
  return {
    predict: predictor.predict,
    get pending() {
      return predictor.pending;
    },
    runner,
    transport,
    async close() {
      await predictor.close();
      await runner.close();
    },
  };
}

/** The runner's backbone functions called in-process, on `DATA_DIR/backbones` (tRPC callers in tests). */
export function inProcessBackbones(dataDir: string): BackboneInspector {
  const deps = { backbonesDir: join(dataDir, 'backbones') };
  return { cutPoints: (name) => inspectBackbone(deps, name), measure: (name, images) => measureBackbone(deps, name, images) };
}
