import type { BackendPreference } from './env.ts';

export interface RunnerBackend {
  name: string;
  device: string;
}

/** Loosely typed so the runner keeps working (and typechecking) while the engine's API moves. */
interface EngineModule {
  initBackend?: (opts?: { prefer?: string; log?: (m: string) => void }) => Promise<{ name?: string; device?: string }>;
}

/** The engine names the native choice 'gpu' (tfjs-node-gpu, then tfjs-node). */
const ENGINE_PREFERENCE: Record<BackendPreference, string> = {
  auto: 'auto',
  tensorflow: 'gpu',
  wasm: 'wasm',
  cpu: 'cpu',
};

/**
 * Selects the TensorFlow.js backend once at runner start through @defectflow/engine's initBackend.
 * Any failure (engine missing, no backend) is reported, not thrown: the runner still serves and runs
 * fail with their own errors.
 */
export async function initRunnerBackend(
  preference: BackendPreference = 'auto',
  log: (message: string) => void = console.log,
): Promise<RunnerBackend> {
  try {
    const specifier = '@defectflow/engine';
    const engine = (await import(/* @vite-ignore */ specifier)) as EngineModule;
    if (typeof engine.initBackend !== 'function') {
      log('[runner] @defectflow/engine has no initBackend(); backend reported as unknown');
      return { name: 'unknown', device: 'unknown' };
    }
    const info = await engine.initBackend({ prefer: ENGINE_PREFERENCE[preference], log });
    return { name: info.name ?? 'unknown', device: info.device ?? 'unknown' };
  } catch (err) {
    log(`[runner] backend selection failed: ${err instanceof Error ? err.message : String(err)}`);
    return { name: 'unknown', device: 'unknown' };
  }
}
