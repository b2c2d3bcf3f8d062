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
