export * from './data/index.ts';
export * from './model/index.ts';
export * from './onnx/index.ts';
export { type BackendInfo, type BackendPreference, type InitBackendOptions, backendInfo, initBackend } from './backend/index.ts';
