/** Predictions and ONNX backbone inspection on the runner: the web server holds neither TF.js nor ONNX Runtime. */
export { handlePredictRequest, confinedModelDir, type PredictDeps } from './handler.ts';
export { createPredictQueue, type PredictQueue } from './queue.ts';
export { inspectBackbone, measureBackbone, type BackboneInspection, type BackboneMeasurement, type BackboneDeps } from './backbones.ts';
export * from './types.ts';
