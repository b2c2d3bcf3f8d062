export {
  type ConvertToOnnxOptions,
  convertLayersModelToOnnx,
  convertLayersModelToOnnxDetailed,
  ONNX_INPUT,
  ONNX_OUTPUT,
  type OnnxConversion,
  type OnnxPooling,
} from './convert.ts';
export { SUPPORTED_LAYERS, UnsupportedLayerError, samePads } from './layers.ts';
export { ONNX_OPSET } from './onnx-proto.ts';
export { OnnxReadError, parseOnnxModel, countOnnxParams, type ParsedOnnxModel } from './onnx-read.ts';
export { cutOnnxModel, type ChannelAffine } from './onnx-edit.ts';
export { type FrozenGraph, isFrozenGraph } from './runtime-types.ts';
export {
  cachedFeatureExtractor,
  createFeatureExtractor,
  createOnnxFeatureExtractor,
  createTfjsFeatureExtractor,
  exportOnnx,
  type FeatureExtractor,
  type FeatureExtractorOptions,
  isOnnxRuntimeAvailable,
  loadOnnxRuntime,
  OnnxRuntimeUnavailableError,
  releaseCachedExtractors,
  type OrtAvailability,
  type OrtLoader,
  type OrtModule,
  type OrtSessionOptions,
} from './runtime.ts';
