/** Hyperparameter sweeps over a pipeline (browser-safe): spec, trial graphs, planners, the driver loop. */
export * from './spec.ts';
export * from './trial-graph.ts';
export * from './types.ts';
export * from './planner.ts';
export * from './driver.ts';
